// Reference stub of UnityEditor.CoreModule (format: see UnityEngine.CoreModule.cs).
// @module UnityEditor.CoreModule
// @versions 2021.3 2022.3 6000.0 6000.3
#pragma warning disable 0067
using System;
using UnityEngine;

namespace UnityEditor
{
    // @ref Editor/Mono/EditorApplication.cs
    public enum PlayModeStateChange
    {
        EnteredEditMode,
        ExitingEditMode,
        EnteredPlayMode,
        ExitingPlayMode,
    }

    // @ref Editor/Mono/EditorApplication.cs Editor/Mono/EditorApplication.bindings.cs
    public sealed partial class EditorApplication
    {
        public delegate void CallbackFunction();
        public static CallbackFunction update;
        public static event Action<PlayModeStateChange> playModeStateChanged;
        public static double timeSinceStartup { get { throw null; } }
    }

    // @ref Editor/Mono/AssemblyReloadEvents.cs
    public static class AssemblyReloadEvents
    {
        public delegate void AssemblyReloadCallback();
        public static event AssemblyReloadCallback beforeAssemblyReload;
    }

    // @ref Editor/Mono/MenuItem.cs
    public sealed class MenuItem : Attribute
    {
        public MenuItem(string itemName) { }
    }

    // @ref Editor/Mono/EditorWindow.cs Editor/Mono/EditorWindow.bindings.cs
    public partial class EditorWindow : ScriptableObject
    {
        public static T GetWindow<T>(string title) where T : EditorWindow { throw null; }
        public void Repaint() { throw null; }
    }

    // @ref Editor/Mono/EditorGUIUtility.bindings.cs
    public enum MessageType
    {
        None = 0,
        Info = 1,
        Warning = 2,
        Error = 3,
    }

    // @ref Editor/Mono/EditorGUI.cs
    public sealed partial class EditorGUI
    {
        public static int indentLevel { get { throw null; } set { } }
    }

    // @ref Editor/Mono/EditorGUILayout.cs
    public sealed partial class EditorGUILayout
    {
        public static void LabelField(string label, params GUILayoutOption[] options) { throw null; }
        public static void LabelField(string label, GUIStyle style, params GUILayoutOption[] options) { throw null; }
        public static void LabelField(string label, string label2, params GUILayoutOption[] options) { throw null; }
        public static void LabelField(string label, string label2, GUIStyle style, params GUILayoutOption[] options) { throw null; }
        public static void HelpBox(string message, MessageType type) { throw null; }
        public static void Space() { throw null; }
        public static Vector2 BeginScrollView(Vector2 scrollPosition, params GUILayoutOption[] options) { throw null; }
        public static void EndScrollView() { throw null; }
    }

    // @ref Editor/Mono/GUI/EditorStyles.cs
    public sealed class EditorStyles
    {
        public static GUIStyle boldLabel { get { throw null; } }
        public static GUIStyle miniBoldLabel { get { throw null; } }
        public static GUIStyle wordWrappedLabel { get { throw null; } }
    }
}
