/* QR codes (libqrencode) as inline SVG, for the TOTP enrolment page. */
#ifndef ERS_QR_H
#define ERS_QR_H

#include "buf.h"
#include "error.h"

/* Encodes `text` (8-bit, error correction level M) as a self-contained
 * <svg> element with a quiet zone, black on white, into svg_r.  The SVG
 * holds the text as well as the text does: wipe it if that was a secret. */
int ers_qr_svg(const char *text, struct ers_buf *svg_r, struct ers_error *err);

#endif
