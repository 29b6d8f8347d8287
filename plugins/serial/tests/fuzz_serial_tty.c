/*
 * libFuzzer target: tty.c against a real pseudo-terminal. The input's first
 * bytes give the line settings (a baud rate, supported or not, data and stop
 * bits) and the parity and flow-control words as the configuration would
 * hand them over; the rest is sent by the "instrument" on the pty's master.
 *
 * Invariant checked: ioca_tty_open either returns a non-blocking,
 * close-on-exec descriptor in raw mode that hands over exactly the bytes the
 * instrument sent, or -1 with a reason and nothing left open.
 */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <pty.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "tty.h"

#define HEADER_LEN         7
#define WORD_MAX           8
#define SEND_MAX           256
#define ERR_MAX            256
#define ARRIVAL_TIMEOUT_MS 1000

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static int master = -1;
static char slave_path[64];

static void open_pty(void)
{
	int slave;

	if (openpty(&master, &slave, slave_path, NULL, NULL) != 0)
		abort();
	/* Keep the slave open so the master never sees a hang-up between inputs. */
	fcntl(master, F_SETFL, O_NONBLOCK);
}

static void word(char *out, const uint8_t *in, size_t len)
{
	static const char *const parity_or_flow[] = {"none", "even", "odd", "rtscts", "xonxoff"};

	/* Mostly valid words, sometimes raw bytes, so both paths of the parsers run. */
	if (len && in[0] < 0xF0) {
		snprintf(out, WORD_MAX, "%s", parity_or_flow[in[0] % 5]);
		return;
	}
	len = len < WORD_MAX - 1 ? len : WORD_MAX - 1;
	memcpy(out, in, len);
	out[len] = '\0';
}

/* Drain whatever the master has queued (echo is off in raw mode; this is belt and braces). */
static void drain(int fd)
{
	char buf[SEND_MAX];

	while (read(fd, buf, sizeof buf) > 0)
		;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static const long bauds[] = {300, 1200, 4800, 9600, 19200, 115200, 2000000, 0};
	struct ioca_tty_config cfg;
	char parity[WORD_MAX], flow[WORD_MAX], err[ERR_MAX] = "";
	char got[SEND_MAX];
	size_t send, have = 0;
	int fd, fl;

	if (size < HEADER_LEN)
		return 0;
	if (master < 0)
		open_pty();
	memset(&cfg, 0, sizeof cfg);
	cfg.path = slave_path;
	cfg.baud = data[0] < 0xF8 ? bauds[data[0] % 7] : (long)data[1] << 8 | data[2];
	cfg.data_bits = 5 + data[3] % 4;
	cfg.stop_bits = 1 + data[3] / 4 % 2;
	word(parity, data + 4, 1);
	word(flow, data + 5, 1);
	if (ioca_tty_parse_parity(parity, &cfg.parity) != 0)
		cfg.parity = IOCA_TTY_PARITY_NONE;
	if (ioca_tty_parse_flow(flow, &cfg.flow) != 0)
		cfg.flow = IOCA_TTY_FLOW_NONE;
	fd = ioca_tty_open(&cfg, err, sizeof err);
	if (fd < 0) {
		if (err[0] == '\0')
			abort();
		return 0;
	}
	fl = fcntl(fd, F_GETFL);
	if (fl < 0 || !(fl & O_NONBLOCK) || !(fcntl(fd, F_GETFD) & FD_CLOEXEC))
		abort();
	send = size - HEADER_LEN;
	if (send > SEND_MAX)
		send = SEND_MAX;
	/* XON/XOFF flow control would swallow ^Q/^S: send only without it. */
	if (cfg.flow != IOCA_TTY_FLOW_XONXOFF && send &&
	    write(master, data + HEADER_LEN, send) == (ssize_t)send) {
		struct pollfd pfd = {.fd = fd, .events = POLLIN};

		while (have < send && poll(&pfd, 1, ARRIVAL_TIMEOUT_MS) > 0) {
			ssize_t n = read(fd, got + have, send - have);

			if (n < 0 && errno != EAGAIN)
				break;
			if (n > 0)
				have += (size_t)n;
		}
		/* 8 data bits pass bytes unchanged; fewer may strip the high bits. */
		if (cfg.data_bits == 8 &&
		    (have != send || memcmp(got, data + HEADER_LEN, send) != 0))
			abort();
	}
	close(fd);
	drain(master);
	return 0;
}
