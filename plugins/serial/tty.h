/*
 * Opening and configuring a serial tty with termios: raw 8N1-style line
 * settings from baud, parity, data bits, stop bits and flow control.
 *
 * Invariant: a descriptor handed out is non-blocking, close-on-exec, in raw
 * mode with the requested settings applied and verified; on failure nothing
 * stays open and `err` says why.
 */
#ifndef IOCA_SERIAL_TTY_H
#define IOCA_SERIAL_TTY_H

#include <stddef.h>

enum ioca_tty_parity { IOCA_TTY_PARITY_NONE, IOCA_TTY_PARITY_EVEN, IOCA_TTY_PARITY_ODD };
enum ioca_tty_flow { IOCA_TTY_FLOW_NONE, IOCA_TTY_FLOW_RTSCTS, IOCA_TTY_FLOW_XONXOFF };

struct ioca_tty_config {
	const char *path;
	long baud;
	enum ioca_tty_parity parity;
	int data_bits; /* 5..8 */
	int stop_bits; /* 1 or 2 */
	enum ioca_tty_flow flow;
};

/* Whether termios has a speed constant for `baud`. */
int ioca_tty_baud_supported(long baud);

/* Parse "none|even|odd" and "none|rtscts|xonxoff"; return 0 or -1. */
int ioca_tty_parse_parity(const char *s, enum ioca_tty_parity *out);
int ioca_tty_parse_flow(const char *s, enum ioca_tty_flow *out);

/* Open and configure. Return value: the descriptor, or -1 with err filled and errno kept. */
int ioca_tty_open(const struct ioca_tty_config *cfg, char *err, size_t errlen);

#endif
