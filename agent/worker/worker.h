/*
 * The worker process: one per instance, started by the core executing the
 * agent binary again with --worker. It loads the instance's plugin, runs it,
 * and sends what it emits to the core as frames (frame.h) over the socket
 * on fd IOCA_WORKER_SOCKET_FD; its validated options arrive as libconfig
 * text on fd IOCA_WORKER_OPTIONS_FD.
 */
#ifndef IOCA_WORKER_H
#define IOCA_WORKER_H

#include "worker_args.h"

/*
 * argv as ioca_worker_args_encode() wrote it (argv[1] is IOCA_WORKER_FLAG).
 * Returns the process exit code.
 */
int ioca_worker_main(int argc, char **argv);

#endif
