using UnityEditor;
using UnityEngine;

namespace LSDBridge.Editor
{
    /// <summary>Window > LSD Bridge > Status: runtime state, latency, dropped frames per renderer.</summary>
    public sealed class LSDStatusWindow : EditorWindow
    {
        private Vector2 _scroll;
        private double _nextRepaint;

        [MenuItem("Window/LSD Bridge/Status")]
        public static void Open()
        {
            GetWindow<LSDStatusWindow>("LSD Bridge");
        }

        private void OnEnable() { EditorApplication.update += Tick; }
        private void OnDisable() { EditorApplication.update -= Tick; }

        private void Tick()
        {
            if (EditorApplication.timeSinceStartup < _nextRepaint) return;
            _nextRepaint = EditorApplication.timeSinceStartup + 0.25;
            Repaint();
        }

        private void OnGUI()
        {
            EditorGUILayout.LabelField("Runtime", EditorStyles.boldLabel);
            string native;
            try { native = LSDRuntime.NativeVersion; }
            catch (System.Exception e) { native = "not loaded (" + e.GetType().Name + ")"; }
            EditorGUILayout.LabelField("Native library", native);
            try
            {
                LSDRuntimeInfo info = LSDRuntime.ReadRuntimeState("");
                EditorGUILayout.LabelField("runtime.json", info.Endpoint + "  (pid " + info.Pid + ", v" + info.Version + ")");
            }
            catch (System.Exception e)
            {
                EditorGUILayout.HelpBox("No runtime found: start one with `lsd-runtime serve`.\n" + e.Message, MessageType.Info);
            }

            EditorGUILayout.Space();
            EditorGUILayout.LabelField("Streams", EditorStyles.boldLabel);
            if (!Application.isPlaying) { EditorGUILayout.HelpBox("Enter Play Mode to see live streams.", MessageType.None); return; }
            if (LSDStreamRenderer.Active.Count == 0) { EditorGUILayout.LabelField("No active LSD Stream Renderer."); return; }
            _scroll = EditorGUILayout.BeginScrollView(_scroll);
            foreach (LSDStreamRenderer r in LSDStreamRenderer.Active)
            {
                if (r == null || r.Engine == null) continue;
                LSDStreamEngine e = r.Engine;
                LSDStats s = e.Stats;
                EditorGUILayout.LabelField(r.name, EditorStyles.miniBoldLabel);
                EditorGUI.indentLevel++;
                EditorGUILayout.LabelField("State", s.State.ToString());
                EditorGUILayout.LabelField("Path", e.PathDescription, EditorStyles.wordWrappedLabel);
                EditorGUILayout.LabelField("Motion + depth", e.MotionAndDepthStatus, EditorStyles.wordWrappedLabel);
                LSDAppliedStyle applied = e.AppliedStyle;
                EditorGUILayout.LabelField("Model", e.Model + (applied != null ? "  →  " + applied : ""),
                                           EditorStyles.wordWrappedLabel);
                EditorGUILayout.LabelField("Latency (round trip)", s.RoundTrip.ToString());
                EditorGUILayout.LabelField("Runtime total", s.Total.ToString());
                EditorGUILayout.LabelField("Backend", s.Backend.ToString());
                EditorGUILayout.LabelField("Frames", string.Format("submitted {0}, done {1}, presented {2}", s.FramesSubmitted, s.FramesDone, e.FramesPresented));
                EditorGUILayout.LabelField("Dropped", string.Format("runtime {0}, no free slot {1}, lost {2}, readback errors {3}",
                                                                    s.FramesDropped, s.FramesSkipped, s.FramesLost, e.ReadbackErrors));
                EditorGUILayout.LabelField("Reconnects / errors", s.Reconnects + " / " + s.Errors);
                EditorGUI.indentLevel--;
            }
            EditorGUILayout.EndScrollView();
        }
    }
}
