/*
 * The worker process: one per instance, started by the core executing the
 * agent binary again with --worker. It loads the instance's plugin, runs it,
 * and sends what it emits to the core as frames (frame.h) over the socket
 * on fd IOCA_WORKER_SOCKET_FD; its validated options arrive as libconfig
 * text on fd IOCA_WORKER_OPTIONS_FD.
 */
#ifndef IOCA_WORKER_H
#define IOCA_WORKER_H

#define IOCA_WORKER_FLAG "--worker"
#define IOCA_WORKER_SOCKET_FD 3
#define IOCA_WORKER_OPTIONS_FD 4

/* Worker exit codes (besides 0: run() returned). */
#define IOCA_WORKER_EXIT_RUN_FAILED 1
#define IOCA_WORKER_EXIT_CREATE_FAILED 2
#define IOCA_WORKER_EXIT_SETUP_FAILED 3

/*
 * argv: iocagent --worker NAME PLUGIN_PATH LOG_LEVEL MEMORY_LIMIT_MB MAX_RATE
 * Returns the process exit code.
 */
int ioca_worker_main(int argc, char **argv);

#endif
