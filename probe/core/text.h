/*
 * text: byte-level helpers for text we parse (configuration, label values): hex digits
 * and UTF-8 sequences. Pure functions, no allocation.
 */
#ifndef CERTPROBE_TEXT_H
#define CERTPROBE_TEXT_H

#include <stddef.h>
#include <stdint.h>

/* The value of one hex digit (0-9, a-f, A-F), or -1 when c is not one. */
int text_hex_digit(char c);

/*
 * The length of the sequence a UTF-8 lead byte announces: 2, 3 or 4 for 0xc0-0xff, else
 * 1 (ASCII, or a stray continuation byte). Does not validate: for stepping through text
 * already checked or sanitised, one character at a time.
 */
size_t text_utf8_lead_len(unsigned char c);

/*
 * Decode the well-formed UTF-8 sequence at p: its length (1-4) with the code point in
 * *cp when cp is not NULL, or 0 when p does not start one (overlong form, surrogate,
 * past U+10FFFF, stray continuation byte, or cut short). An ASCII byte, NUL included,
 * is a sequence of 1. Reads no further than the first byte that ends the sequence, so a
 * NUL-terminated p is never read past its terminator.
 */
size_t text_utf8_decode(const unsigned char *p, uint32_t *cp);

#endif
