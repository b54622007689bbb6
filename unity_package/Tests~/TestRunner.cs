// Discovers [TestFixture] classes by reflection, runs [Test] methods with [SetUp]/[TearDown]
// and [OneTimeSetUp]/[OneTimeTearDown], prints one line per test and an NUnit-like summary
// ending with "N passed, M failed". Exit code: 0 all passed, 1 otherwise.
// Usage: mono LSDBridge.Core.Tests.exe [substring filter]
using System;
using System.Diagnostics;
using System.Linq;
using System.Reflection;
using NUnit.Framework;

namespace LSDBridge.Tests
{
    public static class TestRunner
    {
        public static int Main(string[] args)
        {
            string filter = args.Length > 0 ? args[0] : null;
            int passed = 0, failed = 0;
            var total = Stopwatch.StartNew();
            var fixtures = typeof(TestRunner).Assembly.GetTypes()
                .Where(t => t.GetCustomAttributes(typeof(TestFixtureAttribute), false).Length > 0)
                .OrderBy(t => t.Name);
            foreach (Type fixture in fixtures)
            {
                MethodInfo[] methods = fixture.GetMethods(BindingFlags.Public | BindingFlags.Instance);
                MethodInfo[] tests = methods.Where(m => Has<TestAttribute>(m))
                    .Where(m => filter == null || (fixture.Name + "." + m.Name).IndexOf(filter, StringComparison.OrdinalIgnoreCase) >= 0)
                    .OrderBy(m => m.MetadataToken).ToArray();
                if (tests.Length == 0) continue;
                Console.WriteLine("== " + fixture.Name);
                object instance = Activator.CreateInstance(fixture);
                string oneTimeError = Invoke(instance, methods.Where(m => Has<OneTimeSetUpAttribute>(m)));
                foreach (MethodInfo test in tests)
                {
                    var sw = Stopwatch.StartNew();
                    string error = oneTimeError;
                    if (error == null)
                    {
                        error = Invoke(instance, methods.Where(m => Has<SetUpAttribute>(m)));
                        if (error == null) error = Invoke(instance, new[] { test });
                        string tearDown = Invoke(instance, methods.Where(m => Has<TearDownAttribute>(m)));
                        if (error == null) error = tearDown;
                    }
                    if (error == null)
                    {
                        passed++;
                        Console.WriteLine(string.Format("  PASS {0}.{1} ({2} ms)", fixture.Name, test.Name, sw.ElapsedMilliseconds));
                    }
                    else
                    {
                        failed++;
                        Console.WriteLine(string.Format("  FAIL {0}.{1} ({2} ms)\n       {3}", fixture.Name, test.Name,
                                                        sw.ElapsedMilliseconds, error.Replace("\n", "\n       ")));
                    }
                }
                string oneTimeTearDown = Invoke(instance, methods.Where(m => Has<OneTimeTearDownAttribute>(m)));
                if (oneTimeTearDown != null) Console.WriteLine("  (OneTimeTearDown failed: " + oneTimeTearDown + ")");
            }
            Console.WriteLine();
            Console.WriteLine(string.Format("Test Run Summary: {0} tests, {1:F1} s", passed + failed, total.Elapsed.TotalSeconds));
            Console.WriteLine(string.Format("{0} passed, {1} failed", passed, failed));
            return failed == 0 && passed > 0 ? 0 : 1;
        }

        private static bool Has<T>(MethodInfo m) where T : Attribute
        {
            return m.GetCustomAttributes(typeof(T), true).Length > 0;
        }

        private static string Invoke(object instance, System.Collections.Generic.IEnumerable<MethodInfo> methods)
        {
            foreach (MethodInfo m in methods)
            {
                try
                {
                    m.Invoke(instance, null);
                }
                catch (TargetInvocationException e)
                {
                    Exception inner = e.InnerException ?? e;
                    return inner is AssertionException
                        ? inner.Message
                        : inner.GetType().Name + ": " + inner.Message + "\n" + inner.StackTrace;
                }
            }
            return null;
        }
    }
}
