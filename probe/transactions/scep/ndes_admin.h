/*
 * ndes_admin: reads the NDES one-time password page (mscep_admin). The page is HTML,
 * often UTF-16LE without a BOM; the password follows "The enrollment challenge
 * password is:" inside <B>...</B>. Pure: bytes in, verdict out.
 */
#ifndef CERTPROBE_NDES_ADMIN_H
#define CERTPROBE_NDES_ADMIN_H

#include <stddef.h>

#include "transactions/transaction_status.h"

/*
 * TXN_OK with the password in pw (NUL-terminated), or TXN_NDES_PASSWORD_CACHE_FULL,
 * TXN_NDES_NO_PERMISSION, TXN_NDES_PAGE_UNRECOGNISED.
 */
enum txn_status ndes_admin_parse(const unsigned char *body, size_t len, const char *charset,
                                 char *pw, size_t pwlen);

#endif
