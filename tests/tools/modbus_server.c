/*
 * Scriptable Modbus test server built on libmodbus, for tests and benchmarks.
 *
 *   ioca_modbus_server tcp [PORT]   Modbus TCP on 127.0.0.1 (PORT 0 or absent: a free port)
 *   ioca_modbus_server rtu          Modbus RTU on a pseudo-terminal pair
 *
 * Prints one line once it is serving: "READY tcp <port>" or "READY rtu
 * <slave tty path>", then reads commands on stdin, one per line, each
 * answered by one line on stdout ("OK", or the requested value, or "ERR ..."):
 *
 *   set UNIT holding|input ADDR V...     16-bit register values (decimal or 0x..)
 *   setbit UNIT coil|discrete ADDR B...  bit values 0/1
 *   silent UNIT 0|1                      stop / resume answering UNIT
 *   exception UNIT CODE                  answer every request with exception CODE (0: off)
 *   badcrc UNIT 0|1                      (RTU) corrupt the CRC of UNIT's answers
 *   delay UNIT MS                        wait MS before answering UNIT
 *   count UNIT                           -> "COUNT n": requests received for UNIT
 *   mark UNIT                            arm: remember when UNIT is next answered
 *   setmark UNIT holding|input ADDR V... set, and arm the mark in the same step
 *   getmark UNIT                         -> "MARK <wall ms>" of that answer (0: not yet)
 *   quit
 *
 * Every unit id 0..247 has its own register space (2000 bits, 10000 registers
 * per table); requests beyond it get libmodbus' illegal-data-address answer.
 * Invariant: requests are answered strictly one at a time, in arrival order.
 */
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <poll.h>
#include <pty.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <termios.h>
#include <time.h>
#include <unistd.h>

#include <modbus/modbus.h>

#define MAX_UNITS            248
#define MAP_BITS             2000
#define MAP_REGISTERS        10000
#define MAX_CLIENTS          64
#define LISTEN_BACKLOG       16
#define RTU_READ_FRAME_BYTES 8 /* slave, function, address(2), count(2), crc(2) */
#define RTU_BUF_BYTES        512
#define LINE_MAX_BYTES       65536
#define US_PER_MS            1000

struct unit {
	modbus_mapping_t *map;
	bool silent;
	bool badcrc;
	int exception;
	int delay_ms;
	unsigned long count;
	bool mark_armed;
	int64_t mark_ms;
};

static struct unit units[MAX_UNITS];
static char line[LINE_MAX_BYTES];
static size_t line_len;

static int64_t wall_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_REALTIME, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static struct unit *get_unit(long id)
{
	if (id < 0 || id >= MAX_UNITS)
		return NULL;
	if (!units[id].map)
		units[id].map =
		    modbus_mapping_new(MAP_BITS, MAP_BITS, MAP_REGISTERS, MAP_REGISTERS);
	return units[id].map ? &units[id] : NULL;
}

static void say(const char *text)
{
	printf("%s\n", text);
	fflush(stdout);
}

static void say_number(const char *label, long long v)
{
	printf("%s %lld\n", label, v);
	fflush(stdout);
}

/* Execute one command line; returns false on "quit". */
static bool command(char *text)
{
	char *save = NULL;
	char *verb = strtok_r(text, " \t\r", &save);
	char *arg = strtok_r(NULL, " \t\r", &save);
	struct unit *u;

	if (!verb)
		return true;
	if (strcmp(verb, "quit") == 0)
		return false;
	u = arg ? get_unit(strtol(arg, NULL, 0)) : NULL;
	if (!u) {
		say("ERR unit");
		return true;
	}
	if (strcmp(verb, "setmark") == 0) {
		u->mark_armed = true;
		u->mark_ms = 0;
		verb = "set";
	}
	if (strcmp(verb, "set") == 0 || strcmp(verb, "setbit") == 0) {
		char *table = strtok_r(NULL, " \t\r", &save);
		char *addr = strtok_r(NULL, " \t\r", &save);
		long a = addr ? strtol(addr, NULL, 0) : -1;
		bool bits = strcmp(verb, "setbit") == 0;
		uint16_t *regs = NULL;
		uint8_t *bitv = NULL;
		long limit = bits ? MAP_BITS : MAP_REGISTERS;

		if (!table || a < 0) {
			say("ERR args");
			return true;
		}
		if (strcmp(table, "holding") == 0)
			regs = u->map->tab_registers;
		else if (strcmp(table, "input") == 0)
			regs = u->map->tab_input_registers;
		else if (strcmp(table, "coil") == 0)
			bitv = u->map->tab_bits;
		else if (strcmp(table, "discrete") == 0)
			bitv = u->map->tab_input_bits;
		if ((bits && !bitv) || (!bits && !regs)) {
			say("ERR table");
			return true;
		}
		for (char *v; (v = strtok_r(NULL, " \t\r", &save)) != NULL && a < limit; a++) {
			if (bits)
				bitv[a] = strtol(v, NULL, 0) ? 1 : 0;
			else
				regs[a] = (uint16_t)strtol(v, NULL, 0);
		}
		say("OK");
		return true;
	}
	if (strcmp(verb, "count") == 0) {
		say_number("COUNT", (long long)u->count);
		return true;
	}
	if (strcmp(verb, "mark") == 0) {
		u->mark_armed = true;
		u->mark_ms = 0;
		say("OK");
		return true;
	}
	if (strcmp(verb, "getmark") == 0) {
		say_number("MARK", (long long)u->mark_ms);
		return true;
	}
	{
		char *val = strtok_r(NULL, " \t\r", &save);
		long v = val ? strtol(val, NULL, 0) : 0;

		if (strcmp(verb, "silent") == 0)
			u->silent = v != 0;
		else if (strcmp(verb, "badcrc") == 0)
			u->badcrc = v != 0;
		else if (strcmp(verb, "exception") == 0)
			u->exception = (int)v;
		else if (strcmp(verb, "delay") == 0)
			u->delay_ms = (int)v;
		else {
			say("ERR verb");
			return true;
		}
	}
	say("OK");
	return true;
}

/* Read what stdin has; run complete lines. Returns false on quit or EOF. */
static bool read_commands(void)
{
	ssize_t n = read(STDIN_FILENO, line + line_len, sizeof line - 1 - line_len);
	char *start = line;
	char *nl;

	if (n <= 0)
		return false;
	line_len += (size_t)n;
	line[line_len] = '\0';
	while ((nl = strchr(start, '\n')) != NULL) {
		*nl = '\0';
		if (!command(start))
			return false;
		start = nl + 1;
	}
	line_len -= (size_t)(start - line);
	memmove(line, start, line_len);
	if (line_len == sizeof line - 1)
		line_len = 0; /* an over-long line: drop it */
	return true;
}

/*
 * Answer one parsed request of `len` bytes in `query` for unit `id`.
 * Returns false when the request must not be answered (silent unit).
 */
static bool answer(modbus_t *ctx, const uint8_t *query, int len, int id)
{
	struct unit *u = get_unit(id);

	if (!u)
		return false;
	u->count++;
	if (u->silent)
		return false;
	if (u->delay_ms > 0)
		usleep((useconds_t)u->delay_ms * US_PER_MS);
	if (u->mark_armed) {
		u->mark_armed = false;
		u->mark_ms = wall_ms();
	}
	if (u->exception)
		modbus_reply_exception(ctx, query, (unsigned)u->exception);
	else
		modbus_reply(ctx, query, len, u->map);
	return true;
}

/* ---- TCP ------------------------------------------------------------------- */

static int serve_tcp(int port)
{
	modbus_t *ctx = modbus_new_tcp("127.0.0.1", port);
	uint8_t query[MODBUS_TCP_MAX_ADU_LENGTH];
	struct pollfd fds[MAX_CLIENTS + 2];
	struct sockaddr_in addr;
	socklen_t alen = sizeof addr;
	int nclients = 0;
	int listen_fd;

	if (!ctx)
		return 1;
	listen_fd = modbus_tcp_listen(ctx, LISTEN_BACKLOG);
	if (listen_fd < 0 || getsockname(listen_fd, (struct sockaddr *)&addr, &alen) != 0) {
		fprintf(stderr, "listen: %s\n", modbus_strerror(errno));
		return 1;
	}
	printf("READY tcp %d\n", ntohs(addr.sin_port));
	fflush(stdout);
	fds[0] = (struct pollfd){.fd = STDIN_FILENO, .events = POLLIN};
	fds[1] = (struct pollfd){.fd = listen_fd, .events = POLLIN};
	for (;;) {
		if (poll(fds, (nfds_t)(2 + nclients), -1) < 0 && errno != EINTR)
			break;
		if (fds[0].revents && !read_commands())
			break;
		if (fds[1].revents & POLLIN) {
			int c = accept(listen_fd, NULL, NULL);

			if (c >= 0 && nclients < MAX_CLIENTS)
				fds[2 + nclients++] = (struct pollfd){.fd = c, .events = POLLIN};
			else if (c >= 0)
				close(c);
		}
		for (int i = 0; i < nclients; i++) {
			int rc;

			if (!fds[2 + i].revents)
				continue;
			modbus_set_socket(ctx, fds[2 + i].fd);
			rc = modbus_receive(ctx, query);
			if (rc > 0) {
				answer(ctx, query, rc, query[modbus_get_header_length(ctx) - 1]);
				continue;
			}
			if (rc == 0)
				continue;
			close(fds[2 + i].fd);
			fds[2 + i] = fds[2 + nclients - 1];
			nclients--;
			i--;
		}
	}
	for (int i = 0; i < nclients; i++)
		close(fds[2 + i].fd);
	close(listen_fd);
	modbus_free(ctx);
	return 0;
}

/* ---- RTU over a pseudo-terminal ----------------------------------------------- */

/*
 * One request frame from the pty is fed to libmodbus through a pipe (so that
 * libmodbus checks its CRC and parses it), the answer is produced into a
 * second pipe, optionally damaged, and written back to the pty.
 */
static void rtu_frame(modbus_t *ctx, int master, const int in_pipe[2], const int out_pipe[2],
		      const uint8_t *frame)
{
	uint8_t query[MODBUS_RTU_MAX_ADU_LENGTH];
	uint8_t resp[MODBUS_RTU_MAX_ADU_LENGTH];
	struct unit *u = get_unit(frame[0]);
	ssize_t n;
	int rc;

	if (!u || write(in_pipe[1], frame, RTU_READ_FRAME_BYTES) != RTU_READ_FRAME_BYTES)
		return;
	modbus_set_slave(ctx, frame[0]);
	modbus_set_socket(ctx, in_pipe[0]);
	rc = modbus_receive(ctx, query);
	if (rc <= 0)
		return; /* bad CRC from the client, or not a request */
	modbus_set_socket(ctx, out_pipe[1]);
	if (!answer(ctx, query, rc, frame[0]))
		return;
	n = read(out_pipe[0], resp, sizeof resp);
	if (n <= 0)
		return;
	if (u->badcrc)
		resp[n - 1] ^= 0xFF;
	if (write(master, resp, (size_t)n) != n)
		fprintf(stderr, "pty write: %s\n", strerror(errno));
}

static int serve_rtu(void)
{
	modbus_t *ctx = modbus_new_rtu("/dev/null", 9600, 'N', 8, 1);
	uint8_t buf[RTU_BUF_BYTES];
	size_t have = 0;
	int master, slave;
	int in_pipe[2], out_pipe[2];
	struct termios tio;
	struct pollfd fds[2];

	if (!ctx || openpty(&master, &slave, NULL, NULL, NULL) != 0 || pipe(in_pipe) != 0 ||
	    pipe(out_pipe) != 0) {
		fprintf(stderr, "setup: %s\n", strerror(errno));
		return 1;
	}
	tcgetattr(slave, &tio);
	cfmakeraw(&tio);
	tcsetattr(slave, TCSANOW, &tio);
	fcntl(out_pipe[0], F_SETFL, O_NONBLOCK);
	printf("READY rtu %s\n", ttyname(slave));
	fflush(stdout);
	fds[0] = (struct pollfd){.fd = STDIN_FILENO, .events = POLLIN};
	fds[1] = (struct pollfd){.fd = master, .events = POLLIN};
	for (;;) {
		ssize_t n;

		if (poll(fds, 2, -1) < 0 && errno != EINTR)
			break;
		if (fds[0].revents && !read_commands())
			break;
		if (!(fds[1].revents & POLLIN))
			continue;
		n = read(master, buf + have, sizeof buf - have);
		if (n <= 0)
			continue;
		have += (size_t)n;
		while (have >= RTU_READ_FRAME_BYTES) {
			rtu_frame(ctx, master, in_pipe, out_pipe, buf);
			have -= RTU_READ_FRAME_BYTES;
			memmove(buf, buf + RTU_READ_FRAME_BYTES, have);
		}
	}
	close(master);
	close(slave);
	modbus_free(ctx);
	return 0;
}

int main(int argc, char **argv)
{
	setvbuf(stdin, NULL, _IONBF, 0);
	if (argc >= 2 && strcmp(argv[1], "tcp") == 0)
		return serve_tcp(argc >= 3 ? atoi(argv[2]) : 0);
	if (argc >= 2 && strcmp(argv[1], "rtu") == 0)
		return serve_rtu();
	fprintf(stderr, "usage: %s tcp [PORT] | rtu\n", argv[0]);
	return 64;
}
