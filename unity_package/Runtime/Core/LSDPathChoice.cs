namespace LSDBridge
{
    /// <summary>Which path frames take, decided once per capture from what the caller asked for and what the
    /// native library reports (pure logic; LSDStreamEngine passes the library's answer).</summary>
    public struct LSDPathDecision
    {
        /// <summary>true: the GPU path; false: AsyncGPUReadback + shared memory.</summary>
        public bool UseGpu;
        /// <summary>Why the GPU path is not used (null when it is).</summary>
        public string GpuStatus;
        /// <summary>Something to log as a warning (null: say nothing).</summary>
        public string Warning;

        /// <summary>The path in words, as the status window shows it.</summary>
        public string Description
        {
            get
            {
                if (UseGpu) return LSDPathChoice.GpuPathName;
                return LSDPathChoice.ReadbackPathName + (GpuStatus != null ? " (GPU path: " + GpuStatus + ")" : "");
            }
        }
    }

    public static class LSDPathChoice
    {
        public const string GpuPathName = "GPU (render-thread copies)";
        public const string ReadbackPathName = "AsyncGPUReadback + shared memory";

        /// <summary><paramref name="requested"/>: null (the default) takes the GPU path when it is available
        /// and the readback path quietly otherwise; true asks for the GPU path (a warning says why it cannot
        /// be had); false always reads back. <paramref name="unavailableReason"/>: null when the native
        /// library can run the GPU path, else why not.</summary>
        public static LSDPathDecision Decide(bool? requested, string unavailableReason)
        {
            if (requested == false)
                return new LSDPathDecision { UseGpu = false, GpuStatus = "not asked for (useGPU: false)" };
            if (unavailableReason == null)
                return new LSDPathDecision { UseGpu = true };
            var d = new LSDPathDecision { UseGpu = false, GpuStatus = unavailableReason };
            if (requested == true)
                d.Warning = "LSD Bridge: GPU path unavailable (" + unavailableReason + "); using " + ReadbackPathName + ".";
            return d;
        }
    }
}
