using LSDBridge;
using UnityEngine;

/// <summary>
/// Basic demo: add to an empty scene and press Play (with `lsd-runtime serve` running).
/// Builds a small spinning scene, streams the main camera through the runtime and draws the
/// restyled frame full-screen with a status line. Keys: 1-4 switch styles, S toggles the stream.
/// </summary>
public sealed class LSDBasicDemo : MonoBehaviour
{
    public string model = "toon";           // effects need no model weights; try "sd-turbo"
    public string prompt = "a watercolor painting";
    public Vector2Int resolution = new Vector2Int(512, 288);

    private LSDStreamEngine _engine;
    private RenderTexture _output;
    private Transform _spinner;
    private static readonly string[] Styles = { "toon", "sketch", "pixel_art", "sd-turbo" };

    private void Start()
    {
        Camera cam = Camera.main;
        if (cam == null)
        {
            cam = new GameObject("Main Camera").AddComponent<Camera>();
            cam.tag = "MainCamera";
        }
        cam.transform.position = new Vector3(0, 1.5f, -5);
        cam.transform.LookAt(Vector3.zero);
        new GameObject("Light").AddComponent<Light>().type = LightType.Directional;
        _spinner = GameObject.CreatePrimitive(PrimitiveType.Cube).transform;
        var sphere = GameObject.CreatePrimitive(PrimitiveType.Sphere).transform;
        sphere.SetParent(_spinner);
        sphere.localPosition = new Vector3(1.5f, 0, 0);
        GameObject.CreatePrimitive(PrimitiveType.Plane).transform.position = new Vector3(0, -1, 0);

        _output = new RenderTexture(resolution.x, resolution.y, 0, RenderTextureFormat.ARGB32, RenderTextureReadWrite.sRGB);
        _output.Create();
        // useGPU left alone: the GPU path when this build has it, else readback (the status line says which)
        _engine = new LSDStreamEngine(model, options: new LSDStreamOptions
        {
            width = resolution.x, height = resolution.y, prompt = prompt,
        });
        _engine.Connected += () => Debug.Log("LSD demo: connected");
        _engine.Disconnected += () => Debug.Log("LSD demo: disconnected");
        _engine.BindTexture(_output);
        _engine.BindSource(cam);
        _engine.StartCapture();
    }

    private void Update()
    {
        _spinner.Rotate(0, 60 * Time.deltaTime, 20 * Time.deltaTime);
    }

    // Keys come from IMGUI events, which work with the legacy Input Manager, the Input System package
    // and both (UnityEngine.Input throws when only the Input System is active).
    private void HandleKey(Event e)
    {
        if (e.type != EventType.KeyDown) return;
        int style = e.keyCode - KeyCode.Alpha1;
        if (style >= 0 && style < Styles.Length) { _engine.Model = Styles[style]; e.Use(); }
        else if (e.keyCode == KeyCode.S)
        {
            if (_engine.IsCapturing) _engine.Stop();
            else _engine.StartCapture();
            e.Use();
        }
    }

    private void OnGUI()
    {
        if (_engine == null) return;
        HandleKey(Event.current);
        if (_engine.FramesPresented > 0)
            GUI.DrawTexture(new Rect(0, 0, Screen.width, Screen.height), _output, ScaleMode.ScaleToFit, false);
        LSDStats s = _engine.Stats;
        GUI.Label(new Rect(10, 10, Screen.width - 20, 80), string.Format(
            "{0} | {1} | presented {2} | round trip {3} | dropped {4} skipped {5}\n{6}\n1-4: style, S: start/stop",
            s.State, _engine.Model, _engine.FramesPresented, s.RoundTrip, s.FramesDropped, s.FramesSkipped,
            _engine.PathDescription));
    }

    private void OnDestroy()
    {
        if (_engine != null) _engine.Dispose();
        if (_output != null) { _output.Release(); Destroy(_output); }
    }
}
