using System;
using System.Collections.Generic;

namespace LSDBridge
{
    /// <summary>Objects that must be disposed when their world goes away (Play Mode ends, the domain reloads,
    /// the application quits). Disposing may remove the object from the set (Forget); every object is still
    /// disposed once, and one that throws does not stop the others.</summary>
    public sealed class LSDLiveSet<T> where T : class, IDisposable
    {
        private readonly List<T> _live = new List<T>();
        private bool _hooked;

        public int Count { get { lock (_live) return _live.Count; } }

        /// <summary>Adds <paramref name="item"/> (once). Returns true only the first time anything is ever
        /// tracked: that is when the caller hooks the events that call DisposeAll.</summary>
        public bool Track(T item)
        {
            if (item == null) throw new ArgumentNullException("item");
            lock (_live)
            {
                if (!_live.Contains(item)) _live.Add(item);
                if (_hooked) return false;
                _hooked = true;
                return true;
            }
        }

        public void Forget(T item)
        {
            lock (_live) _live.Remove(item);
        }

        /// <summary>Disposes every tracked object and empties the set; returns what the Dispose calls threw.</summary>
        public List<Exception> DisposeAll()
        {
            T[] items;
            lock (_live)
            {
                items = _live.ToArray();
                _live.Clear();
            }
            var errors = new List<Exception>();
            foreach (T item in items)
            {
                try { item.Dispose(); }
                catch (Exception e) { errors.Add(e); }
            }
            return errors;
        }
    }
}
