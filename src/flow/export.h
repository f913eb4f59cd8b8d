/* Writing the packets of one call to a new pcap file (`sipkit flow --pcap`), the way
 * sngrep saves a call. */
#ifndef FLOW_EXPORT_H
#define FLOW_EXPORT_H

#include <stddef.h>
#include <stdint.h>

#include "flow/model.h"

struct flow_export_counts {
    uint64_t frames;    /* frames written */
    uint64_t sip;       /* SIP messages of the call found again */
    uint64_t rtp, rtcp; /* RTP and RTCP packets of its streams */
};

/* Write the frames of item `index` of m to a new pcap file `out`: every frame that
 * carried one of its SIP messages (every IP fragment and TCP segment holding its
 * bytes), and the RTP and RTCP packets of its streams, as they were captured (bytes,
 * timestamps in ns, link type, snaplen), in capture order. m must have been built
 * from the capture file `in` with the default capture limits; `in` is read twice
 * more (once decoded, to find the frames again, once raw, to copy them), so it must
 * be a file, not a pipe. A pcapng input is written as pcap: libpcap reads only
 * pcapng files whose interfaces share one link type. Returns 0; EINVAL (index out of
 * range, `in` not a capture, `out` is `in`), ENOENT or EIO (cannot read `in`, cannot
 * write `out`), ENOMEM; err holds a line of text. A failed write removes `out`. */
int flow_export_pcap(const struct flow_model *m, size_t index, const char *in,
                     const char *out, struct flow_export_counts *counts, char *err,
                     size_t errlen);

#endif
