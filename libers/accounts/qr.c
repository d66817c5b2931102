/* QR codes as inline SVG (libqrencode), for the TOTP enrolment page. */
#include <stdlib.h>
#include <string.h>
#include <qrencode.h>
#include "accounts/internal.h"

enum { QUIET_ZONE = 4, PIXELS_PER_MODULE = 4 };

int ers_qr_svg(const char *text, struct ers_buf *svg_r, struct ers_error *err)
{
	QRcode *q = text ? QRcode_encodeString(text, 0, QR_ECLEVEL_M, QR_MODE_8, 1) : NULL;
	if (!q) {
		ers_error_set(err, ERS_E_INVALID, "cannot make a QR code of %zu bytes (at most 2331 fit)",
			      text ? strlen(text) : 0);
		return -1;
	}
	int size = q->width + 2 * QUIET_ZONE;
	ers_buf_reset(svg_r);
	ers_buf_addf(svg_r,
		     "<svg xmlns=\"http://www.w3.org/2000/svg\" viewBox=\"0 0 %d %d\" width=\"%d\" height=\"%d\""
		     " shape-rendering=\"crispEdges\" role=\"img\" aria-label=\"QR code\">"
		     "<rect width=\"%d\" height=\"%d\" fill=\"#fff\"/><path fill=\"#000\" d=\"",
		     size, size, size * PIXELS_PER_MODULE, size * PIXELS_PER_MODULE, size, size);
	/* One path: a unit square per dark module, runs of them merged. */
	for (int y = 0; y < q->width; y++) {
		for (int x = 0; x < q->width;) {
			if (!(q->data[y * q->width + x] & 1)) {
				x++;
				continue;
			}
			int run = 1;
			while (x + run < q->width && (q->data[y * q->width + x + run] & 1))
				run++;
			ers_buf_addf(svg_r, "M%d %dh%dv1h-%dz", x + QUIET_ZONE, y + QUIET_ZONE, run, run);
			x += run;
		}
	}
	ers_buf_adds(svg_r, "\"/></svg>");
	ers_wipe(q->data, (size_t)q->width * (size_t)q->width);
	QRcode_free(q);
	return 0;
}
