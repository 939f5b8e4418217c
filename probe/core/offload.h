/*
 * offload: work the event loop must not wait for (reading and parsing a file that an
 * operator named, loading a reloaded configuration) done on one worker thread, with the
 * result handed back on the loop thread (the key pool's pattern: a queue under a mutex,
 * an eventfd the worker writes, one persistent event on the loop; no libevent call
 * crosses threads).
 *
 * A job is the caller's struct. After offload_submit() the queue owns it: work(job)
 * runs on the worker (it must touch nothing the loop owns), then done(job) runs on the
 * loop and owns the job from then on. A job that never gets to done (offload_free()
 * while it is queued or finished) is handed to discard(job) instead.
 */
#ifndef CERTPROBE_OFFLOAD_H
#define CERTPROBE_OFFLOAD_H

struct event_base;
struct offload;

typedef void offload_fn(void *job);

/* One worker thread; NULL when the thread or the eventfd cannot be made. */
struct offload *offload_new(struct event_base *base, const char *name);

/*
 * Waits for the job the worker is running (jobs are bounded: fileload caps every
 * read), discards every job not yet done, and stops the worker. NULL-safe. Call it on
 * the loop thread.
 */
void offload_free(struct offload *o);

/* Queue job; done(job) runs later on the loop, never inside this call. */
void offload_submit(struct offload *o, void *job, offload_fn *work, offload_fn *done,
                    offload_fn *discard);

/* Jobs queued or running now (for tests and the stall diagnosis). */
unsigned offload_pending(struct offload *o);

#endif
