using System;
using System.Runtime.InteropServices;

namespace LSDBridge
{
    /// <summary>The parts of one captured frame, each read back from the GPU on its own.</summary>
    [Flags]
    public enum LSDFrameParts
    {
        None = 0,
        Color = 1,
        /// <summary>The camera's motion vectors (LSDFramePlanes.Motion).</summary>
        Motion = 2,
        /// <summary>The camera's depth (LSDFramePlanes.Depth).</summary>
        Depth = 4,
    }

    /// <summary>
    /// Puts a frame back together from parts that come back separately (the colour, the motion vectors
    /// and the depth are three AsyncGPUReadback requests whose callbacks may come in any order, each
    /// handing over data that is valid only during that callback) and submits it once every part it
    /// asked for has reported. Pure C#: LSDStreamEngine feeds it the readbacks, the tests feed it bytes.
    /// <list type="bullet">
    /// <item>Each frame in flight has its own persistent, pinned buffers (colour, motion, depth, of the
    /// session size), one set per place in the LSDReadbackGate: a part is copied in when its readback
    /// completes and the frame is submitted from those buffers; the part that completes a frame is
    /// handed to the submit straight from the caller's memory (nothing to keep, so no copy). Without
    /// planes every frame is one part, so nothing is pinned or copied at all.</item>
    /// <item>One gate place per frame, not per part: TryBeginFrame takes it, and it is given back when
    /// every part of the frame has reported (arrived or failed), so the gate counts frames whose
    /// readbacks are really still on the GPU.</item>
    /// <item>Latest wins: frames are numbered as they begin; when a frame is submitted, every older
    /// frame still waiting for parts is abandoned (its late parts are not even copied), and a frame
    /// that completes after a newer one was submitted is dropped. Parts of two frames are never
    /// mixed: each part is matched to its frame by number.</item>
    /// <item>A failed part: a failed motion or depth readback costs that frame the plane only (it is
    /// submitted without it, and the library leaves that plane's flag clear, so the runtime knows this
    /// frame has none); a failed colour readback drops the whole frame (planes without a picture are
    /// of no use). A part shorter than the session's layout counts as failed.</item>
    /// <item>A camera cut (MarkCameraCut) makes the next frame that is submitted carry
    /// LSDFrameFlags.Reset: the first frame begun after the cut, or a later one if that one is dropped
    /// or refused; a frame captured before the cut never carries it.</item>
    /// </list>
    /// Main thread only (Unity runs readback callbacks on the main thread). Dispose frees the pins; parts
    /// reported after Dispose are ignored, so a readback of a stopped capture is harmless.
    /// </summary>
    public sealed class LSDFrameAssembler : IDisposable
    {
        /// <summary>Hands one assembled frame to the session (LSDStreamSession.Submit). The memory is valid
        /// only during the call; the row pitch of every part is tight. Returns the submit's status.</summary>
        public delegate LSDStatus SubmitFrame(IntPtr color, long colorBytes, double time, LSDFrameFlags flags,
                                              LSDFramePlanes planes);

        private sealed class Slot
        {
            public long Frame = -1;            // -1: free
            public int Generation;
            public LSDFrameParts Requested, Arrived, Failed;
            public bool Abandoned;
            public double Time;
            public byte[] Color, Motion, Depth;
            public GCHandle ColorPin, MotionPin, DepthPin;

            public bool Busy { get { return Frame >= 0; } }
            public LSDFrameParts Missing { get { return Requested & ~(Arrived | Failed); } }
        }

        private readonly Slot[] _slots;
        private readonly LSDReadbackGate _gate;
        private readonly SubmitFrame _submit;
        private readonly bool _flipPlaneRows;
        private long _nextFrame;
        private long _lastSubmitted = -1;
        // camera cuts not yet delivered: the first frame that must carry Reset, and the frame after the
        // newest cut (a frame between two cuts delivers the first but not the second); -1: none
        private long _cutEarliest = -1, _cutLatest = -1;
        private bool _disposed;

        /// <summary>Frames of <paramref name="width"/> × <paramref name="height"/> in <paramref name="color"/>,
        /// with the planes the bind declared (null: none; their Format is what counts here, every part is
        /// tightly packed). One buffer set per place in <paramref name="gate"/> (none without planes). <paramref name="flipPlaneRows"/>:
        /// the motion and depth parts arrive in the opposite row order to the colour (so their rows are
        /// reversed as they are copied in; the planes must have the colour ring's row order).</summary>
        public LSDFrameAssembler(int width, int height, LSDPixelFormat color, LSDMotionOptions motion,
                                 LSDDepthOptions depth, bool flipPlaneRows, LSDReadbackGate gate, SubmitFrame submit)
        {
            if (width < 1) throw new ArgumentOutOfRangeException("width", width, "must be at least 1");
            if (height < 1) throw new ArgumentOutOfRangeException("height", height, "must be at least 1");
            if (gate == null) throw new ArgumentNullException("gate");
            if (submit == null) throw new ArgumentNullException("submit");
            int colorBpp = LSDProtocol.BytesPerPixel(color);
            int motionBpp = motion != null ? LSDProtocol.BytesPerPixel(motion.Format) : 0;
            int depthBpp = depth != null ? LSDProtocol.BytesPerPixel(depth.Format) : 0;
            if (colorBpp == 0) throw new ArgumentException("unknown pixel format " + color, "color");
            if (motion != null && motionBpp == 0) throw new ArgumentException("unknown motion format " + motion.Format, "motion");
            if (depth != null && depthBpp == 0) throw new ArgumentException("unknown depth format " + depth.Format, "depth");
            Width = width;
            Height = height;
            ColorBytes = (long)width * height * colorBpp;
            MotionBytes = (long)width * height * motionBpp;
            DepthBytes = (long)width * height * depthBpp;
            Planes = (motion != null ? LSDFrameParts.Motion : 0) | (depth != null ? LSDFrameParts.Depth : 0);
            _flipPlaneRows = flipPlaneRows;
            _gate = gate;
            _submit = submit;
            _slots = new Slot[gate.MaxInFlight];
            try
            {
                for (int i = 0; i < _slots.Length; i++)
                {
                    var s = new Slot();
                    _slots[i] = s;
                    // a colour-only frame completes with its one part and is submitted straight from it: no buffer
                    if (Planes != LSDFrameParts.None) s.Color = Pin(ColorBytes, out s.ColorPin);
                    if (motion != null) s.Motion = Pin(MotionBytes, out s.MotionPin);
                    if (depth != null) s.Depth = Pin(DepthBytes, out s.DepthPin);
                }
            }
            catch
            {
                FreePins();
                throw;
            }
        }

        public int Width { get; private set; }
        public int Height { get; private set; }
        /// <summary>Bytes of one part (tightly packed).</summary>
        public long ColorBytes { get; private set; }
        public long MotionBytes { get; private set; }
        public long DepthBytes { get; private set; }
        /// <summary>The planes this assembler has buffers for (Motion, Depth, both or None).</summary>
        public LSDFrameParts Planes { get; private set; }
        public bool IsDisposed { get { return _disposed; } }

        /// <summary>Frames begun and not yet finished with (waiting for parts, or for late parts of an
        /// abandoned frame).</summary>
        public int FramesInFlight
        {
            get
            {
                int n = 0;
                foreach (Slot s in _slots) if (s != null && s.Busy) n++;
                return n;
            }
        }

        /// <summary>Buffers currently pinned (0 after Dispose).</summary>
        public int PinnedBuffers
        {
            get
            {
                int n = 0;
                foreach (Slot s in _slots)
                {
                    if (s == null) continue;
                    if (s.ColorPin.IsAllocated) n++;
                    if (s.MotionPin.IsAllocated) n++;
                    if (s.DepthPin.IsAllocated) n++;
                }
                return n;
            }
        }

        /// <summary>Frames handed to the submit that it accepted (Ok).</summary>
        public long FramesSubmitted { get; private set; }
        /// <summary>Frames handed to the submit that it did not take (NoFreeSlot, NotConnected, NotBound).</summary>
        public long FramesRefused { get; private set; }
        /// <summary>Frames dropped because their colour readback failed.</summary>
        public long FramesDropped { get; private set; }
        /// <summary>Frames given up because a newer one was submitted first (latest wins).</summary>
        public long FramesSuperseded { get; private set; }
        /// <summary>Motion or depth planes left out of a submitted frame because their readback failed.</summary>
        public long PlanesDropped { get; private set; }
        /// <summary>True while a camera cut waits for a frame to carry it.</summary>
        public bool CameraCutPending { get { return _cutEarliest >= 0; } }

        /// <summary>Starts frame number <paramref name="frame"/> made of <paramref name="parts"/> (Color, plus
        /// any of this assembler's Planes) captured at <paramref name="time"/>. False when every gate place is
        /// taken: skip this frame (request no readbacks for it).</summary>
        public bool TryBeginFrame(LSDFrameParts parts, double time, out long frame)
        {
            ThrowIfDisposed();
            frame = -1;
            if ((parts & LSDFrameParts.Color) == 0)
                throw new ArgumentException("a frame needs its colour part", "parts");
            if ((parts & ~(LSDFrameParts.Color | Planes)) != 0)
                throw new ArgumentException("parts " + parts + " asks for planes this assembler has no buffers for (" +
                                            Planes + ")", "parts");
            int generation;
            if (!_gate.TryBegin(out generation)) return false;
            // a gate restarted under us (a new capture): frames of older generations can never count again
            foreach (Slot s in _slots)
                if (s.Busy && s.Generation != generation) Free(s, completeGate: false);
            Slot slot = null;
            foreach (Slot s in _slots)
                if (!s.Busy) { slot = s; break; }
            if (slot == null)
            {
                _gate.Complete(generation);   // cannot happen while the gate has as many places as we have slots
                return false;
            }
            slot.Frame = _nextFrame++;
            slot.Generation = generation;
            slot.Requested = parts;
            slot.Arrived = slot.Failed = LSDFrameParts.None;
            slot.Abandoned = false;
            slot.Time = time;
            frame = slot.Frame;
            return true;
        }

        /// <summary>One part of <paramref name="frame"/> came back: <paramref name="byteCount"/> bytes at
        /// <paramref name="data"/>, valid only during this call, tightly packed in the session's layout. The
        /// frame is submitted from here when this was its last missing part.</summary>
        public void PartArrived(long frame, LSDFrameParts part, IntPtr data, long byteCount)
        {
            if (_disposed) return;
            long need = PartBytes(part);
            Slot slot = Find(frame, part);
            if (slot == null) return;
            if (data == IntPtr.Zero || byteCount < need)
            {
                slot.Failed |= part;
                Resolve(slot, LSDFrameParts.None, IntPtr.Zero);
                return;
            }
            slot.Arrived |= part;
            bool last = slot.Missing == LSDFrameParts.None;
            bool flip = part != LSDFrameParts.Color && _flipPlaneRows;
            if (last && !flip && !slot.Abandoned)
            {
                Resolve(slot, part, data);   // straight from the caller's memory
                return;
            }
            if (!slot.Abandoned) CopyIn(slot, part, data, flip);
            Resolve(slot, LSDFrameParts.None, IntPtr.Zero);
        }

        /// <summary>The readback of one part of <paramref name="frame"/> failed (request.hasError).</summary>
        public void PartFailed(long frame, LSDFrameParts part)
        {
            if (_disposed) return;
            PartBytes(part);   // checks the part
            Slot slot = Find(frame, part);
            if (slot == null) return;
            slot.Failed |= part;
            Resolve(slot, LSDFrameParts.None, IntPtr.Zero);
        }

        /// <summary>The camera cut (teleport, scene change): the next frame submitted that was begun after this
        /// call carries LSDFrameFlags.Reset, so the runtime forgets what came before.</summary>
        public void MarkCameraCut()
        {
            ThrowIfDisposed();
            if (_cutEarliest < 0) _cutEarliest = _nextFrame;
            _cutLatest = _nextFrame;
        }

        /// <summary>Frees every pin. Frames still waiting give their gate places back; their parts, when they
        /// come, are ignored.</summary>
        public void Dispose()
        {
            if (_disposed) return;
            _disposed = true;
            foreach (Slot s in _slots)
                if (s != null && s.Busy) Free(s, completeGate: true);
            FreePins();
        }

        // ---- internals ------------------------------------------------------------------------------

        private long PartBytes(LSDFrameParts part)
        {
            switch (part)
            {
                case LSDFrameParts.Color: return ColorBytes;
                case LSDFrameParts.Motion: return MotionBytes;
                case LSDFrameParts.Depth: return DepthBytes;
            }
            throw new ArgumentException("one part at a time (Color, Motion or Depth), not " + part, "part");
        }

        // the busy slot holding `frame`, or null when that frame is finished with (stale: ignore the part)
        private Slot Find(long frame, LSDFrameParts part)
        {
            foreach (Slot s in _slots)
            {
                if (!s.Busy || s.Frame != frame) continue;
                if ((s.Requested & part) == 0)
                    throw new InvalidOperationException("frame " + frame + " did not ask for its " + part + " part");
                if (((s.Arrived | s.Failed) & part) != 0)
                    throw new InvalidOperationException("the " + part + " part of frame " + frame + " was reported twice");
                return s;
            }
            return null;
        }

        private void CopyIn(Slot slot, LSDFrameParts part, IntPtr data, bool flip)
        {
            byte[] dst = part == LSDFrameParts.Color ? slot.Color : part == LSDFrameParts.Motion ? slot.Motion : slot.Depth;
            if (!flip)
            {
                Marshal.Copy(data, dst, 0, dst.Length);
                return;
            }
            int row = dst.Length / Height;
            for (int y = 0; y < Height; y++)
                Marshal.Copy(new IntPtr(data.ToInt64() + (long)y * row), dst, (Height - 1 - y) * row, row);
        }

        // called whenever a part reported; acts once every part of the frame has
        private void Resolve(Slot slot, LSDFrameParts direct, IntPtr directData)
        {
            if (slot.Missing != LSDFrameParts.None) return;
            try
            {
                if (slot.Abandoned) return;   // counted when it was abandoned
                if ((slot.Failed & LSDFrameParts.Color) != 0) { FramesDropped++; return; }
                if (slot.Frame < _lastSubmitted) { FramesSuperseded++; return; }
                Submit(slot, direct, directData);
            }
            finally
            {
                Free(slot, completeGate: true);
            }
        }

        private void Submit(Slot slot, LSDFrameParts direct, IntPtr directData)
        {
            long frame = slot.Frame;
            _lastSubmitted = frame;
            foreach (Slot s in _slots)
                if (s != slot && s.Busy && !s.Abandoned && s.Frame < frame)
                {
                    s.Abandoned = true;
                    FramesSuperseded++;
                }

            var planes = new LSDFramePlanes();
            if ((slot.Arrived & LSDFrameParts.Motion) != 0)
            {
                planes.Motion = direct == LSDFrameParts.Motion ? directData : slot.MotionPin.AddrOfPinnedObject();
                planes.MotionBytes = MotionBytes;
            }
            else if ((slot.Requested & LSDFrameParts.Motion) != 0) PlanesDropped++;
            if ((slot.Arrived & LSDFrameParts.Depth) != 0)
            {
                planes.Depth = direct == LSDFrameParts.Depth ? directData : slot.DepthPin.AddrOfPinnedObject();
                planes.DepthBytes = DepthBytes;
            }
            else if ((slot.Requested & LSDFrameParts.Depth) != 0) PlanesDropped++;
            IntPtr color = direct == LSDFrameParts.Color ? directData : slot.ColorPin.AddrOfPinnedObject();

            bool reset = _cutEarliest >= 0 && frame >= _cutEarliest;
            LSDStatus status = _submit(color, ColorBytes, slot.Time, reset ? LSDFrameFlags.Reset : LSDFrameFlags.None, planes);
            if (status != LSDStatus.Ok)
            {
                FramesRefused++;   // the cut stays pending for the next frame
                return;
            }
            FramesSubmitted++;
            if (!reset) return;
            if (frame >= _cutLatest) _cutEarliest = _cutLatest = -1;
            else _cutEarliest = _cutLatest;   // a later cut still waits for a frame begun after it
        }

        private void Free(Slot slot, bool completeGate)
        {
            if (completeGate) _gate.Complete(slot.Generation);
            slot.Frame = -1;
            slot.Abandoned = false;
            slot.Requested = slot.Arrived = slot.Failed = LSDFrameParts.None;
        }

        private static byte[] Pin(long bytes, out GCHandle pin)
        {
            var buffer = new byte[bytes];
            pin = GCHandle.Alloc(buffer, GCHandleType.Pinned);
            return buffer;
        }

        private void FreePins()
        {
            foreach (Slot s in _slots)
            {
                if (s == null) continue;
                if (s.ColorPin.IsAllocated) s.ColorPin.Free();
                if (s.MotionPin.IsAllocated) s.MotionPin.Free();
                if (s.DepthPin.IsAllocated) s.DepthPin.Free();
                s.Color = s.Motion = s.Depth = null;
            }
        }

        private void ThrowIfDisposed()
        {
            if (_disposed) throw new ObjectDisposedException("LSDFrameAssembler");
        }
    }
}
