/*
 * Running one exec command with pipes, a timeout and a process-group kill
 * (see exec_run.h). posix_spawn (not fork) keeps this safe in a threaded
 * worker; POSIX_SPAWN_SETPGROUP puts the child and everything it starts in
 * one group, so a timeout kills the shell and its pipeline alike. The child
 * gets stdin, stdout and stderr and nothing else: every descriptor above 2
 * (the worker's socket to the core is fd 3) is closed in it, whether or not
 * it was opened close-on-exec.
 */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <spawn.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "exec_run.h"

#define POLL_SLICE_MS 100
#define REAP_SLICE_MS 10
#define READ_CHUNK    4096

extern char **environ;

static void read_into(int fd, char *buf, size_t cap, size_t *len, bool *truncated, bool *eof)
{
	char chunk[READ_CHUNK];
	ssize_t n = read(fd, chunk, sizeof chunk);

	if (n == 0 || (n < 0 && errno != EINTR && errno != EAGAIN)) {
		*eof = true;
		return;
	}
	if (n < 0)
		return;
	if (*len + (size_t)n > cap) {
		if (truncated)
			*truncated = true;
		n = (ssize_t)(cap - *len);
	}
	memcpy(buf + *len, chunk, (size_t)n);
	*len += (size_t)n;
	buf[*len] = '\0';
}

static int spawn(char *const argv[], int out_fd, int err_fd, pid_t *pid)
{
	posix_spawn_file_actions_t fa;
	posix_spawnattr_t attr;
	sigset_t none, all;
	int rc;

	posix_spawn_file_actions_init(&fa);
	posix_spawnattr_init(&attr);
	sigemptyset(&none);
	sigfillset(&all);
	sigdelset(&all, SIGKILL);
	sigdelset(&all, SIGSTOP);
	rc = posix_spawn_file_actions_addopen(&fa, STDIN_FILENO, "/dev/null", O_RDONLY, 0);
	if (rc == 0)
		rc = posix_spawn_file_actions_adddup2(&fa, out_fd, STDOUT_FILENO);
	if (rc == 0)
		rc = posix_spawn_file_actions_adddup2(&fa, err_fd, STDERR_FILENO);
	if (rc == 0)
		rc = posix_spawn_file_actions_addclosefrom_np(&fa, STDERR_FILENO + 1);
	posix_spawnattr_setpgroup(&attr, 0);
	posix_spawnattr_setsigmask(&attr, &none);
	posix_spawnattr_setsigdefault(&attr, &all);
	posix_spawnattr_setflags(&attr, POSIX_SPAWN_SETPGROUP | POSIX_SPAWN_SETSIGMASK |
					    POSIX_SPAWN_SETSIGDEF);
	if (rc == 0)
		rc = posix_spawnp(pid, argv[0], &fa, &attr, argv, environ);
	posix_spawn_file_actions_destroy(&fa);
	posix_spawnattr_destroy(&attr);
	return rc;
}

/*
 * Wait for the group leader to exit (without reaping it, so its PID and
 * process group cannot be reused), give up at the deadline or on stop, then
 * kill whatever is left of the group and reap the leader.
 */
static void finish(pid_t pid, int64_t deadline, const struct ioca_host *host,
		   struct ioca_instance *inst, struct ioca_exec_result *res)
{
	int status = 0;

	while (!res->timed_out && !res->stopped) {
		siginfo_t si;
		int rc;

		memset(&si, 0, sizeof si);
		rc = waitid(P_PID, (id_t)pid, &si, WEXITED | WNOHANG | WNOWAIT);
		if ((rc == 0 && si.si_pid == pid) || (rc < 0 && errno == ECHILD))
			break; /* exited (ECHILD: reaped elsewhere, SIGCHLD ignored) */
		if (host->now_mono_ms() >= deadline)
			res->timed_out = true;
		else if (host->wait(inst, REAP_SLICE_MS))
			res->stopped = true;
	}
	kill(-pid, SIGKILL);
	for (;;) {
		if (waitpid(pid, &status, 0) >= 0)
			break;
		if (errno != EINTR) {
			/* Not ours to reap any more: its status is unknown, take it as success. */
			status = 0;
			break;
		}
	}
	if (WIFEXITED(status)) {
		res->exited = true;
		res->exit_code = WEXITSTATUS(status);
	} else if (WIFSIGNALED(status)) {
		res->signal = WTERMSIG(status);
	}
}

void ioca_exec_run(char *const argv[], int64_t timeout_ms, const struct ioca_host *host,
		   struct ioca_instance *inst, struct ioca_exec_result *res)
{
	int out_pipe[2] = {-1, -1}, err_pipe[2] = {-1, -1};
	int64_t start = host->now_mono_ms();
	bool out_eof = false, err_eof = false;
	pid_t pid;

	memset(res, 0, sizeof *res);
	if (pipe2(out_pipe, O_CLOEXEC) != 0 || pipe2(err_pipe, O_CLOEXEC) != 0) {
		res->spawn_errno = errno;
		goto out;
	}
	res->spawn_errno = spawn(argv, out_pipe[1], err_pipe[1], &pid);
	close(out_pipe[1]);
	close(err_pipe[1]);
	out_pipe[1] = err_pipe[1] = -1;
	if (res->spawn_errno != 0)
		goto out;
	res->spawned = true;
	while (!out_eof || !err_eof) {
		struct pollfd fds[2] = {{.fd = out_eof ? -1 : out_pipe[0], .events = POLLIN},
					{.fd = err_eof ? -1 : err_pipe[0], .events = POLLIN}};
		int64_t left = timeout_ms - (host->now_mono_ms() - start);

		if (host->should_stop(inst)) {
			res->stopped = true;
			break;
		}
		if (left <= 0) {
			res->timed_out = true;
			break;
		}
		if (poll(fds, 2, left < POLL_SLICE_MS ? (int)left : POLL_SLICE_MS) < 0 &&
		    errno != EINTR)
			break;
		if (fds[0].revents)
			read_into(out_pipe[0], res->out, IOCA_EXEC_STDOUT_MAX, &res->out_len,
				  &res->out_truncated, &out_eof);
		if (fds[1].revents)
			read_into(err_pipe[0], res->err, IOCA_EXEC_STDERR_MAX, &res->err_len, NULL,
				  &err_eof);
	}
	/* Timeout, stop, or output closed: no one in the group outlives the run. */
	finish(pid, start + timeout_ms, host, inst, res);
out:
	for (int i = 0; i < 2; i++) {
		if (out_pipe[i] >= 0)
			close(out_pipe[i]);
		if (err_pipe[i] >= 0)
			close(err_pipe[i]);
	}
	res->duration_ms = host->now_mono_ms() - start;
}
