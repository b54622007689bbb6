// Reference stub of UnityEngine.CoreModule: the declarations LSD Bridge's Unity layer uses, so CI can
// compile it with mcs the way Unity does (one assembly per asmdef). Declarations only; bodies throw.
// Written from Unity's C# reference source (github.com/Unity-Technologies/UnityCsReference).
//
// Format (read by check_stubs.py, which checks every member against that source):
//   @versions: the Unity versions every member below exists in, unless a member names its own
//   @ref: the reference-source files declaring the type that follows (its partial parts)
//   one declaration per line; a trailing "// @versions ..." narrows one member
//
// @module UnityEngine.CoreModule
// @versions 2021.3 2022.3 6000.0 6000.3
#pragma warning disable 0660, 0661, 0067
using System;
using System.Collections;

namespace UnityEngine
{
    // @ref Runtime/Export/Scripting/UnityEngineObject.bindings.cs
    public enum HideFlags
    {
        None = 0,
        HideInHierarchy = 1,
        HideInInspector = 2,
        DontSaveInEditor = 4,
        NotEditable = 8,
        DontSaveInBuild = 16,
        DontUnloadUnusedAsset = 32,
        DontSave = 52,
        HideAndDontSave = 61,
    }

    // @ref Runtime/Export/Scripting/UnityEngineObject.bindings.cs
    public partial class Object
    {
        public string name { get { throw null; } set { } }
        public HideFlags hideFlags { get { throw null; } set { } }
        public static void Destroy(Object obj) { throw null; }
        public static void DestroyImmediate(Object obj) { throw null; }
        public static void DontDestroyOnLoad(Object target) { throw null; }
        public static bool operator ==(Object x, Object y) { throw null; }
        public static bool operator !=(Object x, Object y) { throw null; }
        public static implicit operator bool(Object exists) { throw null; }
    }

    // @ref Runtime/Export/Scripting/Component.bindings.cs
    public partial class Component : Object
    {
        public Transform transform { get { throw null; } }
        public GameObject gameObject { get { throw null; } }
        public T GetComponent<T>() { throw null; }
        public string tag { get { throw null; } set { } }
    }

    // @ref Runtime/Export/Scripting/Behaviour.bindings.cs
    public partial class Behaviour : Component
    {
        public bool enabled { get { throw null; } set { } }
        public bool isActiveAndEnabled { get { throw null; } }
    }

    // @ref Runtime/Export/Scripting/MonoBehaviour.bindings.cs
    public class MonoBehaviour : Behaviour
    {
        public Coroutine StartCoroutine(IEnumerator routine) { throw null; }
    }

    // @ref Runtime/Export/Scripting/ScriptableObject.bindings.cs
    public class ScriptableObject : Object
    {
    }

    // @ref Runtime/Export/Scripting/Coroutine.bindings.cs
    public sealed class Coroutine : YieldInstruction
    {
        private Coroutine() { }
    }

    // @ref Runtime/Export/Scripting/YieldOperation.cs
    public class YieldInstruction
    {
    }

    // @ref Runtime/Export/Scripting/WaitForEndOfFrame.cs
    public sealed class WaitForEndOfFrame : YieldInstruction
    {
    }

    // @ref Runtime/Export/Scripting/GameObject.bindings.cs
    public sealed partial class GameObject : Object
    {
        public GameObject(string name) { }
        public static GameObject CreatePrimitive(PrimitiveType type) { throw null; }
        public T AddComponent<T>() where T : Component { throw null; }
        public Transform transform { get { throw null; } }
        public string tag { get { throw null; } set { } }
    }

    // @ref Runtime/Export/BaseClass.cs
    public enum PrimitiveType
    {
        Sphere = 0,
        Capsule = 1,
        Cylinder = 2,
        Cube = 3,
        Plane = 4,
        Quad = 5,
    }

    // @ref Runtime/Transform/ScriptBindings/Transform.bindings.cs
    public partial class Transform : Component, IEnumerable
    {
        public Vector3 position { get { throw null; } set { } }
        public Vector3 localPosition { get { throw null; } set { } }
        public void SetParent(Transform p) { throw null; }
        public void Rotate(float xAngle, float yAngle, float zAngle) { throw null; }
        public void LookAt(Vector3 worldPosition) { throw null; }
        IEnumerator IEnumerable.GetEnumerator() { throw null; }
    }

    // @ref Runtime/Export/Camera/Camera.bindings.cs
    public sealed partial class Camera : Behaviour
    {
        public RenderTexture targetTexture { get { throw null; } set { } }
        public static Camera main { get { throw null; } }
        public float nearClipPlane { get { throw null; } set { } }
        public float farClipPlane { get { throw null; } set { } }
        public bool orthographic { get { throw null; } set { } }
        public DepthTextureMode depthTextureMode { get { throw null; } set { } }
        public int pixelWidth { get { throw null; } }
        public int pixelHeight { get { throw null; } }
        public void AddCommandBuffer(Rendering.CameraEvent evt, Rendering.CommandBuffer buffer) { throw null; }
        public void RemoveCommandBuffer(Rendering.CameraEvent evt, Rendering.CommandBuffer buffer) { throw null; }
        public delegate void CameraCallback(Camera cam);
        public static CameraCallback onPostRender;
    }

    // @ref Runtime/Export/Graphics/GraphicsEnums.cs
    [Flags]
    public enum DepthTextureMode
    {
        None = 0,
        Depth = 1,
        DepthNormals = 2,
        MotionVectors = 4,
    }

    // @ref Runtime/Export/Graphics/GraphicsComponents.bindings.cs Runtime/Export/Graphics/Light.bindings.cs
    public sealed partial class Light : Behaviour
    {
        public LightType type { get { throw null; } set { } }
    }

    // @ref Runtime/Export/Graphics/GraphicsEnums.cs
    public enum LightType
    {
        Spot = 0,
        Directional = 1,
        Point = 2,
    }

    // @ref Runtime/Export/Shaders/Material.bindings.cs Runtime/Export/Shaders/Material.cs
    public partial class Material : Object
    {
        public void SetTexture(string name, Texture value) { throw null; }
    }

    // @ref Runtime/Export/Graphics/Texture.bindings.cs Runtime/Export/Graphics/Texture.cs
    public partial class Texture : Object
    {
        public int mipmapCount { get { throw null; } }
        public FilterMode filterMode { get { throw null; } set { } }
        public virtual int width { get { throw null; } set { } }
        public virtual int height { get { throw null; } set { } }
        public IntPtr GetNativeTexturePtr() { throw null; }
    }

    // @ref Runtime/Export/Graphics/Texture.bindings.cs Runtime/Export/Graphics/Texture.cs
    public sealed partial class Texture2D : Texture
    {
        public Texture2D(int width, int height, TextureFormat textureFormat, bool mipChain, bool linear) { }
        public TextureFormat format { get { throw null; } }
        public void LoadRawTextureData<T>(Unity.Collections.NativeArray<T> data) where T : struct { throw null; }
        public void Apply(bool updateMipmaps, bool makeNoLongerReadable) { throw null; }
    }

    // @ref Runtime/Export/Graphics/Texture.bindings.cs Runtime/Export/Graphics/Texture.cs
    public partial class RenderTexture : Texture
    {
        public RenderTexture(int width, int height, int depth, RenderTextureFormat format, RenderTextureReadWrite readWrite) { }
        public override int width { get { throw null; } set { } }
        public override int height { get { throw null; } set { } }
        public bool sRGB { get { throw null; } }
        public bool Create() { throw null; }
        public void Release() { throw null; }
        public static RenderTexture GetTemporary(int width, int height, int depthBuffer, RenderTextureFormat format, RenderTextureReadWrite readWrite) { throw null; }
        public static void ReleaseTemporary(RenderTexture temp) { throw null; }
    }

    // @ref Runtime/Export/Graphics/GraphicsEnums.cs
    public enum TextureFormat
    {
        RGBA32 = 4,
        RGHalf = 16,
        RFloat = 18,
    }

    // @ref Runtime/Export/Graphics/GraphicsEnums.cs
    public enum RenderTextureFormat
    {
        ARGB32 = 0,
        RGHalf = 13,
        RFloat = 14,
    }

    // @ref Runtime/Export/Graphics/GraphicsEnums.cs
    public enum FilterMode
    {
        Point = 0,
        Bilinear = 1,
    }

    // @ref Runtime/Export/Graphics/GraphicsEnums.cs
    public enum RenderTextureReadWrite
    {
        Default = 0,
        Linear = 1,
        sRGB = 2,
    }

    // @ref Runtime/Export/Graphics/GraphicsEnums.cs
    public enum ColorSpace
    {
        Uninitialized = -1,
        Gamma = 0,
        Linear = 1,
    }

    // @ref Runtime/Export/Graphics/Graphics.bindings.cs Runtime/Export/Graphics/Graphics.cs
    public partial class Graphics
    {
        public static void Blit(Texture source, RenderTexture dest) { throw null; }
        public static void CopyTexture(Texture src, Texture dst) { throw null; }
        public static void ExecuteCommandBuffer(Rendering.CommandBuffer buffer) { throw null; }
    }

    // @ref Runtime/Export/Graphics/GraphicsManagers.bindings.cs
    public sealed partial class QualitySettings : Object
    {
        public static ColorSpace activeColorSpace { get { throw null; } }
    }

    // @ref Runtime/Export/Graphics/Graphics.bindings.cs
    public sealed partial class Screen
    {
        public static int width { get { throw null; } }
        public static int height { get { throw null; } }
    }

    // @ref Runtime/Export/SystemInfo/SystemInfo.bindings.cs
    public sealed partial class SystemInfo
    {
        public static bool graphicsUVStartsAtTop { get { throw null; } }
        public static bool supportsAsyncGPUReadback { get { throw null; } }
        public static bool usesReversedZBuffer { get { throw null; } }
        public static bool SupportsRenderTextureFormat(RenderTextureFormat format) { throw null; }
    }

    // @ref Runtime/Export/Application/Application.bindings.cs Runtime/Export/Application/Application.cs
    public partial class Application
    {
        public static bool isPlaying { get { throw null; } }
        public static string unityVersion { get { throw null; } }
        public static event Action quitting;
    }

    // @ref Runtime/Export/Time/Time.bindings.cs
    public partial class Time
    {
        public static float deltaTime { get { throw null; } }
        public static int frameCount { get { throw null; } }
        public static double realtimeSinceStartupAsDouble { get { throw null; } }
    }

    // @ref Runtime/Export/Debug/Debug.bindings.cs
    public partial class Debug
    {
        public static void Log(object message) { throw null; }
        public static void LogWarning(object message) { throw null; }
        public static void LogError(object message) { throw null; }
        public static void LogException(Exception exception) { throw null; }
    }

    // @ref Runtime/Export/Math/Mathf.cs
    public partial struct Mathf
    {
        public static float Clamp(float value, float min, float max) { throw null; }
        public static int Clamp(int value, int min, int max) { throw null; }
        public static float Clamp01(float value) { throw null; }
    }

    // @ref Runtime/Export/Math/Vector2.cs
    public partial struct Vector2
    {
        public float x;
        public float y;
    }

    // @ref Runtime/Export/Math/Vector2Int.cs
    public partial struct Vector2Int
    {
        public Vector2Int(int x, int y) { throw null; }
        public int x { get { throw null; } set { } }
        public int y { get { throw null; } set { } }
    }

    // @ref Runtime/Export/Math/Vector3.cs
    public partial struct Vector3
    {
        public float x;
        public float y;
        public float z;
        public Vector3(float x, float y, float z) { this.x = x; this.y = y; this.z = z; }
        public static Vector3 zero { get { throw null; } }
    }

    // @ref Runtime/Export/Geometry/Rect.cs
    public partial struct Rect
    {
        public Rect(float x, float y, float width, float height) { throw null; }
    }

    // @ref Runtime/Export/Input/KeyCode.cs
    public enum KeyCode
    {
        S = 115,
        Alpha1 = 49,
        Alpha2 = 50,
        Alpha3 = 51,
        Alpha4 = 52,
    }

    // @ref Runtime/Export/Scripting/Attributes.cs
    public sealed class DisallowMultipleComponent : Attribute
    {
    }

    // @ref Runtime/Export/Scripting/Attributes.cs
    public sealed class AddComponentMenu : Attribute
    {
        public AddComponentMenu(string menuName) { }
    }

    // @ref Runtime/Export/PropertyDrawer/PropertyAttribute.cs
    public abstract class PropertyAttribute : Attribute
    {
    }

    // @ref Runtime/Export/PropertyDrawer/PropertyAttribute.cs
    public class HeaderAttribute : PropertyAttribute
    {
        public HeaderAttribute(string header) { }
    }

    // @ref Runtime/Export/PropertyDrawer/PropertyAttribute.cs
    public class TooltipAttribute : PropertyAttribute
    {
        public TooltipAttribute(string tooltip) { }
    }

    // @ref Runtime/Export/Serialization/Serialization.cs
    public sealed partial class SerializeField : Attribute
    {
    }
}

namespace UnityEngine.Rendering
{
    // @ref Runtime/Export/Graphics/RenderingCommandBuffer.bindings.cs Runtime/Export/Graphics/RenderingCommandBuffer.cs
    public partial class CommandBuffer : IDisposable
    {
        public CommandBuffer() { }
        public string name { get { throw null; } set { } }
        public void Clear() { throw null; }
        public void IssuePluginEventAndData(IntPtr callback, int eventID, IntPtr data) { throw null; }
        public void Blit(RenderTargetIdentifier source, RenderTargetIdentifier dest) { throw null; }
        public void Release() { throw null; }
        public void Dispose() { throw null; }
    }

    // @ref Runtime/Export/Graphics/GraphicsEnums.cs
    public enum CameraEvent
    {
        BeforeImageEffects = 18,
    }

    // @ref Runtime/Export/Graphics/GraphicsEnums.cs
    public enum BuiltinRenderTextureType
    {
        Depth = 3,
        MotionVectors = 15,
    }

    // @ref Runtime/Export/Graphics/GraphicsEnums.cs
    public struct RenderTargetIdentifier
    {
        public RenderTargetIdentifier(BuiltinRenderTextureType type) { throw null; }
        public RenderTargetIdentifier(Texture tex) { throw null; }
    }

    // @ref Runtime/Export/Graphics/GraphicsSettings.bindings.cs
    public sealed partial class GraphicsSettings : Object
    {
        private GraphicsSettings() { }
        public static RenderPipelineAsset currentRenderPipeline { get { throw null; } }
    }

    // @ref Runtime/Export/RenderPipeline/RenderPipelineAsset.cs
    public abstract partial class RenderPipelineAsset : ScriptableObject
    {
    }

    // @ref Runtime/Export/Graphics/AsyncGPUReadback.bindings.cs
    public struct AsyncGPUReadbackRequest
    {
        public bool hasError { get { throw null; } }
        public Unity.Collections.NativeArray<T> GetData<T>(int layer = 0) where T : struct { throw null; }
    }

    // @ref Runtime/Export/Graphics/AsyncGPUReadback.bindings.cs
    public static partial class AsyncGPUReadback
    {
        public static AsyncGPUReadbackRequest Request(Texture src, int mipIndex, TextureFormat dstFormat, Action<AsyncGPUReadbackRequest> callback = null) { throw null; }
    }
}

namespace Unity.Collections
{
    // @ref Runtime/Export/Collections/NativeCollectionEnums.bindings.cs
    public enum Allocator
    {
        Invalid = 0,
        None = 1,
        Temp = 2,
        TempJob = 3,
        Persistent = 4,
    }

    // @ref Runtime/Export/NativeArray/NativeArray.cs
    public enum NativeArrayOptions
    {
        UninitializedMemory = 0,
        ClearMemory = 1,
    }

    // @ref Runtime/Export/NativeArray/NativeArray.cs
    public struct NativeArray<T> : IDisposable where T : struct
    {
        public NativeArray(int length, Allocator allocator, NativeArrayOptions options = NativeArrayOptions.ClearMemory) { throw null; }
        public int Length { get { throw null; } }
        public bool IsCreated { get { throw null; } }
        public void Dispose() { throw null; }
    }
}

namespace Unity.Collections.LowLevel.Unsafe
{
    // @ref Runtime/Export/NativeArray/NativeArray.cs
    public static class NativeArrayUnsafeUtility
    {
        public static unsafe void* GetUnsafePtr<T>(this NativeArray<T> nativeArray) where T : struct { throw null; }
        public static unsafe void* GetUnsafeReadOnlyPtr<T>(this NativeArray<T> nativeArray) where T : struct { throw null; }
    }
}
