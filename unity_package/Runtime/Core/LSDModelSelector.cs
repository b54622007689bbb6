using System;

namespace LSDBridge
{
    /// <summary>
    /// Turns the model string users pass to LSDStreamEngine ("sd-turbo", "toon", "effects",
    /// "effects:sketch", "diffusion:/path/to/model") into the runtime's backend + style.
    /// The diffusion backend takes the model (catalogue name or local diffusers folder) as
    /// its style; the effects backend takes an effect name, or none (the prompt's words pick).
    /// </summary>
    public static class LSDModelSelector
    {
        public const string EffectsBackend = "effects";
        public const string DiffusionBackend = "diffusion";

        /// <summary>Styles of the runtime's built-in effects backend.</summary>
        public static readonly string[] EffectStyles =
        {
            "identity", "toon", "sketch", "pixel_art", "thermal", "night_vision", "neon_edges", "watercolour", "sepia",
        };

        public static LSDStyle Resolve(string model)
        {
            if (model == null) throw new ArgumentNullException("model");
            string m = model.Trim();
            if (m.Length == 0) throw new ArgumentException("model is empty", "model");
            int colon = m.IndexOf(':');
            // "backend:style" (but not a Windows drive path such as C:\models\x)
            if (colon > 1)
            {
                string backend = m.Substring(0, colon).Trim().ToLowerInvariant();
                string style = m.Substring(colon + 1).Trim();
                return new LSDStyle(backend, style.Length == 0 ? null : style);
            }
            string lower = m.ToLowerInvariant();
            if (lower == EffectsBackend) return new LSDStyle(EffectsBackend, null);
            if (lower == DiffusionBackend) return new LSDStyle(DiffusionBackend, null);
            if (Array.IndexOf(EffectStyles, lower) >= 0) return new LSDStyle(EffectsBackend, lower);
            return new LSDStyle(DiffusionBackend, m);
        }
    }
}
