/*
 * Stream input: libavformat open and read under the agent's own deadlines,
 * and FFmpeg log forwarding with credentials masked.
 *
 * Invariant: no libavformat call made through this module can block longer
 * than its deadline (open_timeout / read_timeout) or past a stop request: the
 * AVIOInterruptCB checks both (and heartbeats the host) on every poll.
 */
#ifndef IOCA_CAMERA_INPUT_H
#define IOCA_CAMERA_INPUT_H

#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>

#include <libavcodec/packet.h>
#include <libavformat/avformat.h>

#include "camera_backoff.h"
#include "iocagent/plugin.h"

struct ioca_cam_input_config {
	const char *url;       /* with credentials, never logged */
	const char *transport; /* "tcp" | "udp" (RTSP) */
	int64_t open_timeout_ms;
	int64_t read_timeout_ms;
	int64_t max_pixels; /* larger streams are refused (IOCA_CAM_END_TOO_LARGE); 0: none */
};

/* Why a session ended or an open failed: the `reason` of camera.offline. */
enum ioca_cam_end {
	IOCA_CAM_END_NONE = 0,
	IOCA_CAM_END_STOPPED,      /* stop requested */
	IOCA_CAM_END_OPEN_TIMEOUT, /* open_timeout passed */
	IOCA_CAM_END_OPEN_FAILED,  /* refused, not found, bad data, ... */
	IOCA_CAM_END_NO_VIDEO,     /* no video stream */
	IOCA_CAM_END_UNSUPPORTED,  /* no decoder for the codec */
	IOCA_CAM_END_READ_TIMEOUT, /* no packet for read_timeout */
	IOCA_CAM_END_EOF,          /* end of stream (a live camera: disconnect) */
	IOCA_CAM_END_READ_ERROR,   /* I/O error while reading */
	IOCA_CAM_END_TOO_LARGE,    /* picture larger than max_pixels */
};

const char *ioca_cam_end_reason(enum ioca_cam_end e);

struct ioca_cam_input {
	AVFormatContext *fmt;
	int video_index;
	const struct ioca_host *host;
	struct ioca_instance *inst;
	const atomic_bool *stop;
	int64_t deadline_ms; /* monotonic; 0: none */
	int64_t last_beat_ms;
	bool deadline_hit;
	bool timed_out; /* a read returned a held-back packet after its deadline */
};

void ioca_cam_input_init(struct ioca_cam_input *in, const struct ioca_host *host,
			 struct ioca_instance *inst, const atomic_bool *stop);

/* Open and probe. On failure returns IOCA_ERROR with *why and a message in err. */
int ioca_cam_input_open(struct ioca_cam_input *in, const struct ioca_cam_input_config *cfg,
			enum ioca_cam_end *why, char *err, size_t errlen);

/* The video stream (after a successful open). */
AVStream *ioca_cam_input_stream(const struct ioca_cam_input *in);

/* Read the next video packet within timeout_ms. IOCA_OK, or IOCA_ERROR with *why and err. */
int ioca_cam_input_read(struct ioca_cam_input *in, AVPacket *pkt, int64_t timeout_ms,
			enum ioca_cam_end *why, char *err, size_t errlen);

void ioca_cam_input_close(struct ioca_cam_input *in);

/* Route FFmpeg's log through `host` (debug level, credentials masked). */
void ioca_cam_av_log_attach(const struct ioca_host *host, struct ioca_instance *inst);
void ioca_cam_av_log_detach(struct ioca_instance *inst);

#endif
