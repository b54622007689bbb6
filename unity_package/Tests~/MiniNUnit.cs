// A tiny NUnit-compatible subset (attributes + Assert) so the suite runs with nothing but
// mono here; the test sources use only this subset and also compile against real NUnit
// (e.g. Unity's Test Framework) if this file is left out.
using System;
using System.Collections;

namespace NUnit.Framework
{
    [AttributeUsage(AttributeTargets.Class)] public sealed class TestFixtureAttribute : Attribute { }
    [AttributeUsage(AttributeTargets.Method)] public sealed class TestAttribute : Attribute { }
    [AttributeUsage(AttributeTargets.Method)] public sealed class SetUpAttribute : Attribute { }
    [AttributeUsage(AttributeTargets.Method)] public sealed class TearDownAttribute : Attribute { }
    [AttributeUsage(AttributeTargets.Method)] public sealed class OneTimeSetUpAttribute : Attribute { }
    [AttributeUsage(AttributeTargets.Method)] public sealed class OneTimeTearDownAttribute : Attribute { }

    public class AssertionException : Exception
    {
        public AssertionException(string message) : base(message) { }
    }

    public static class Assert
    {
        public static void Fail(string message) { throw new AssertionException(message); }

        public static void IsTrue(bool condition, string message = null)
        {
            if (!condition) Fail(message ?? "expected true");
        }

        public static void IsFalse(bool condition, string message = null)
        {
            if (condition) Fail(message ?? "expected false");
        }

        public static void IsNotNull(object value, string message = null)
        {
            if (value == null) Fail(message ?? "expected not null");
        }

        public static void AreEqual(object expected, object actual, string message = null)
        {
            if (!Equals(expected, actual))
                Fail(string.Format("expected <{0}> but was <{1}>{2}", expected, actual, message == null ? "" : ": " + message));
        }

        public static void AreNotEqual(object notExpected, object actual, string message = null)
        {
            if (Equals(notExpected, actual))
                Fail(string.Format("expected anything but <{0}>{1}", actual, message == null ? "" : ": " + message));
        }

        public static void Less(double a, double b, string message = null)
        {
            if (!(a < b)) Fail(string.Format("expected {0} < {1}{2}", a, b, message == null ? "" : ": " + message));
        }

        public static void GreaterOrEqual(double a, double b, string message = null)
        {
            if (!(a >= b)) Fail(string.Format("expected {0} >= {1}{2}", a, b, message == null ? "" : ": " + message));
        }

        public static void Contains(object expected, ICollection collection, string message = null)
        {
            foreach (object o in collection) if (Equals(o, expected)) return;
            Fail(string.Format("collection does not contain <{0}>{1}", expected, message == null ? "" : ": " + message));
        }

        /// <summary>Exactly T (as NUnit's Assert.Throws), returned for further checks.</summary>
        public static T Throws<T>(TestDelegate code, string message = null) where T : Exception
        {
            try
            {
                code();
            }
            catch (Exception e)
            {
                if (e.GetType() == typeof(T)) return (T)e;
                Fail(string.Format("expected {0} but got {1}: {2}{3}", typeof(T).Name, e.GetType().Name, e.Message,
                                   message == null ? "" : " (" + message + ")"));
            }
            Fail(string.Format("expected {0} but nothing was thrown{1}", typeof(T).Name, message == null ? "" : " (" + message + ")"));
            return null;
        }

        public static T Catch<T>(TestDelegate code) where T : Exception
        {
            try
            {
                code();
            }
            catch (T e)
            {
                return e;
            }
            Fail("expected " + typeof(T).Name + " (or a subclass) but nothing was thrown");
            return null;
        }

        public static void DoesNotThrow(TestDelegate code)
        {
            try { code(); }
            catch (Exception e) { Fail("unexpected " + e.GetType().Name + ": " + e.Message); }
        }
    }

    public delegate void TestDelegate();
}
