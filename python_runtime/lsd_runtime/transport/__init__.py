"""Where a frame's pixels live between the two processes: ``shm`` (named shared-memory
slots), ``inline`` (pixels inside the messages; private memory here), and ``cuda_ipc``
(device memory shared through CUDA IPC handles). ``SlotRing`` is one session's ring of
slots on its transport."""
