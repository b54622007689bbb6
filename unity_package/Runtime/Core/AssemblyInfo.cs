using System.Runtime.CompilerServices;

// The mono test suite (Tests~) checks NativeMethods' struct layouts against the C header.
[assembly: InternalsVisibleTo("LSDBridge.Core.Tests")]
