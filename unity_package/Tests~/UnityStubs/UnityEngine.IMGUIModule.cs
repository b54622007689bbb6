// Reference stub of UnityEngine.IMGUIModule (format: see UnityEngine.CoreModule.cs).
// @module UnityEngine.IMGUIModule
// @versions 2021.3 2022.3 6000.0 6000.3
namespace UnityEngine
{
    // @ref Modules/IMGUI/GUI.cs
    public partial class GUI
    {
        public static void Label(Rect position, string text) { throw null; }
        public static void DrawTexture(Rect position, Texture image, ScaleMode scaleMode, bool alphaBlend) { throw null; }
    }

    // @ref Modules/IMGUI/GUIEnums.cs
    public enum ScaleMode
    {
        StretchToFill = 0,
        ScaleAndCrop = 1,
        ScaleToFit = 2,
    }

    // @ref Modules/IMGUI/Event.cs Modules/IMGUI/Event.bindings.cs
    public sealed partial class Event
    {
        public static Event current { get { throw null; } set { } }
        public EventType type { get { throw null; } set { } }
        public KeyCode keyCode { get { throw null; } set { } }
        public void Use() { throw null; }
    }

    // @ref Modules/IMGUI/EventEnums.cs
    public enum EventType
    {
        MouseDown = 0,
        MouseUp = 1,
        MouseMove = 2,
        MouseDrag = 3,
        KeyDown = 4,
        KeyUp = 5,
    }

    // @ref Modules/IMGUI/GUIStyle.cs Modules/IMGUI/GUIStyle.bindings.cs
    public sealed partial class GUIStyle
    {
    }

    // @ref Modules/IMGUI/GUILayoutOption.cs
    public sealed class GUILayoutOption
    {
        private GUILayoutOption() { }
    }
}
