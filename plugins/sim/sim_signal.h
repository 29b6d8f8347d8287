/*
 * Synthetic signals for the sim plugin: sine, random walk, steps, constant.
 * Pure functions of time and a seeded generator, so a test can predict them.
 */
#ifndef IOCA_SIM_SIGNAL_H
#define IOCA_SIM_SIGNAL_H

#include <stdint.h>

enum sim_shape { SIM_SINE, SIM_RANDOM_WALK, SIM_STEP, SIM_CONSTANT };

struct sim_signal {
	const char *name;
	const char *unit;
	enum sim_shape shape;
	double min, max;
	double period_s; /* sine period; step: time per level */
	double step;     /* random walk: largest change per sample; step: size of a level */
	double value;    /* current value (random walk, step) */
	uint64_t rng;    /* xorshift state */
};

/* Parse "sine" / "random_walk" / "step" / "constant"; -1 when unknown. */
int sim_shape_parse(const char *name);
void sim_signal_init(struct sim_signal *s, uint64_t seed);
/* Value at `t_s` seconds since start. */
double sim_signal_sample(struct sim_signal *s, double t_s);

#endif
