"""The runtime process: the ZeroMQ router loop, sessions and their workers, liveness
(heartbeats, client processes, segments of dead runtimes) and the discovery file."""
