using System.Runtime.CompilerServices;

// Unity compiles one assembly per asmdef: the Unity layer (LSDBridge.Runtime) calls into the
// native library through Core's internal NativeMethods and Utf8, so Core opens its internals to it.
[assembly: InternalsVisibleTo("LSDBridge.Runtime")]
// The mono test suite (Tests~) checks NativeMethods' struct layouts against the C header.
[assembly: InternalsVisibleTo("LSDBridge.Core.Tests")]
