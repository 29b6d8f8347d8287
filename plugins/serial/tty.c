/*
 * termios setup of a serial instrument's tty (see tty.h).
 *
 * Invariant: ioca_tty_open either returns a configured descriptor or closes
 * everything it opened.
 */
#include "tty.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/ioctl.h>
#include <termios.h>
#include <unistd.h>

struct baud_entry {
	long baud;
	speed_t speed;
};

static const struct baud_entry BAUDS[] = {
    {300, B300},         {600, B600},         {1200, B1200},       {1800, B1800},
    {2400, B2400},       {4800, B4800},       {9600, B9600},       {19200, B19200},
    {38400, B38400},     {57600, B57600},     {115200, B115200},   {230400, B230400},
    {460800, B460800},   {500000, B500000},   {576000, B576000},   {921600, B921600},
    {1000000, B1000000}, {1500000, B1500000}, {2000000, B2000000},
};

static int baud_lookup(long baud, speed_t *out)
{
	for (size_t i = 0; i < sizeof BAUDS / sizeof BAUDS[0]; i++) {
		if (BAUDS[i].baud == baud) {
			*out = BAUDS[i].speed;
			return 0;
		}
	}
	return -1;
}

int ioca_tty_baud_supported(long baud)
{
	speed_t s;
	return baud_lookup(baud, &s) == 0;
}

int ioca_tty_parse_parity(const char *s, enum ioca_tty_parity *out)
{
	if (strcmp(s, "none") == 0)
		*out = IOCA_TTY_PARITY_NONE;
	else if (strcmp(s, "even") == 0)
		*out = IOCA_TTY_PARITY_EVEN;
	else if (strcmp(s, "odd") == 0)
		*out = IOCA_TTY_PARITY_ODD;
	else
		return -1;
	return 0;
}

int ioca_tty_parse_flow(const char *s, enum ioca_tty_flow *out)
{
	if (strcmp(s, "none") == 0)
		*out = IOCA_TTY_FLOW_NONE;
	else if (strcmp(s, "rtscts") == 0)
		*out = IOCA_TTY_FLOW_RTSCTS;
	else if (strcmp(s, "xonxoff") == 0)
		*out = IOCA_TTY_FLOW_XONXOFF;
	else
		return -1;
	return 0;
}

static tcflag_t data_bits_flag(int bits)
{
	switch (bits) {
	case 5:
		return CS5;
	case 6:
		return CS6;
	case 7:
		return CS7;
	default:
		return CS8;
	}
}

static void apply_settings(struct termios *t, const struct ioca_tty_config *cfg, speed_t speed)
{
	cfmakeraw(t);
	t->c_cflag &= ~(tcflag_t)(CSIZE | PARENB | PARODD | CSTOPB | CRTSCTS);
	t->c_cflag |= CLOCAL | CREAD | data_bits_flag(cfg->data_bits);
	if (cfg->parity != IOCA_TTY_PARITY_NONE) {
		t->c_cflag |= PARENB;
		t->c_iflag |= INPCK;
	}
	if (cfg->parity == IOCA_TTY_PARITY_ODD)
		t->c_cflag |= PARODD;
	if (cfg->stop_bits == 2)
		t->c_cflag |= CSTOPB;
	t->c_iflag &= ~(tcflag_t)(IXON | IXOFF | IXANY);
	if (cfg->flow == IOCA_TTY_FLOW_RTSCTS)
		t->c_cflag |= CRTSCTS;
	else if (cfg->flow == IOCA_TTY_FLOW_XONXOFF)
		t->c_iflag |= IXON | IXOFF;
	t->c_cc[VMIN] = 0;
	t->c_cc[VTIME] = 0;
	cfsetispeed(t, speed);
	cfsetospeed(t, speed);
}

int ioca_tty_open(const struct ioca_tty_config *cfg, char *err, size_t errlen)
{
	speed_t speed;
	if (baud_lookup(cfg->baud, &speed) != 0) {
		snprintf(err, errlen, "unsupported baud rate %ld", cfg->baud);
		errno = EINVAL;
		return -1;
	}
	int fd = open(cfg->path, O_RDWR | O_NOCTTY | O_NONBLOCK | O_CLOEXEC);
	if (fd < 0) {
		int e = errno;
		snprintf(err, errlen, "open %s: %s", cfg->path, strerror(e));
		errno = e;
		return -1;
	}
	struct termios t;
	if (tcgetattr(fd, &t) != 0)
		goto fail;
	apply_settings(&t, cfg, speed);
	if (tcsetattr(fd, TCSANOW, &t) != 0)
		goto fail;
	/* tcsetattr succeeds when any one change applied: read back what stuck. */
	struct termios got;
	if (tcgetattr(fd, &got) != 0)
		goto fail;
	if (cfgetispeed(&got) != speed || (got.c_cflag & CSIZE) != (t.c_cflag & CSIZE) ||
	    (got.c_cflag & (PARENB | PARODD | CSTOPB)) !=
		(t.c_cflag & (PARENB | PARODD | CSTOPB))) {
		snprintf(err, errlen, "%s: the tty refused the line settings", cfg->path);
		close(fd);
		errno = EINVAL;
		return -1;
	}
	tcflush(fd, TCIFLUSH);
	return fd;
fail:;
	int e = errno;
	snprintf(err, errlen, "configure %s: %s", cfg->path, strerror(e));
	close(fd);
	errno = e;
	return -1;
}
