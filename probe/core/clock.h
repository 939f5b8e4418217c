/*
 * clock: monotonic milliseconds/microseconds and the one-deadline helper every
 * transaction step re-arms with (relayd event_again).
 */
#ifndef CERTPROBE_CLOCK_H
#define CERTPROBE_CLOCK_H

#include <stdint.h>

uint64_t clock_now_us(void); /* CLOCK_MONOTONIC */
/*
 * Tests: clock_now_us() and clock_now_ms() return now_us from now on (0: the real
 * clock again). For single-threaded unit tests of the scheduler; never in the daemon.
 */
void clock_set_fake(uint64_t now_us);
uint64_t clock_now_ms(void);
uint64_t clock_cpu_us(void); /* CPU time of the process (user + system) */

struct deadline {
	uint64_t at_ms; /* monotonic ms */
};

void deadline_set(struct deadline *d, uint64_t timeout_ms);
/* ms left, 0 when passed */
uint64_t deadline_remaining(const struct deadline *d);
int deadline_expired(const struct deadline *d);

#endif
