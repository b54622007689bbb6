namespace LSDBridge
{
    /// <summary>How many GPU readbacks of one capture are in flight, so a busy GPU skips frames instead of
    /// queueing them. Each capture (StartCapture) is a new generation: a readback requested before a Stop
    /// completes later, finds an older generation and is ignored, so a restart always begins at zero in
    /// flight. A frame made of several readbacks (colour, motion, depth: LSDFrameAssembler) takes one place.
    /// Main-thread only (Unity calls readback callbacks on the main thread).</summary>
    public sealed class LSDReadbackGate
    {
        private readonly int _maxInFlight;

        public LSDReadbackGate(int maxInFlight)
        {
            if (maxInFlight < 1) throw new System.ArgumentOutOfRangeException("maxInFlight", maxInFlight, "must be at least 1");
            _maxInFlight = maxInFlight;
        }

        /// <summary>The most frames in flight at once.</summary>
        public int MaxInFlight { get { return _maxInFlight; } }
        public int InFlight { get; private set; }
        public int Generation { get; private set; }

        /// <summary>A new capture: nothing of the previous one counts any more.</summary>
        public void Restart()
        {
            InFlight = 0;
            Generation++;
        }

        /// <summary>Reserves a readback; false when the limit is reached (skip this frame).</summary>
        public bool TryBegin(out int generation)
        {
            generation = Generation;
            if (InFlight >= _maxInFlight) return false;
            InFlight++;
            return true;
        }

        /// <summary>A readback finished: true when it belongs to the current capture (use its data).</summary>
        public bool Complete(int generation)
        {
            if (generation != Generation) return false;
            if (InFlight > 0) InFlight--;
            return true;
        }
    }
}
