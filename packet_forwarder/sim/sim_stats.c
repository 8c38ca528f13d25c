/* SPDX-License-Identifier: MIT */
/* sim_stats.c - the summary line, see sim_stats.h. */
#include "sim_stats.h"

#include <inttypes.h>

void sim_stats_print(const struct sim_stats *s, FILE *out)
{
	fprintf(out,
		"sim: sent_uplinks=%" PRIu64 " push_data=%" PRIu64 " push_ack=%" PRIu64
		" pull_data=%" PRIu64 " pull_ack=%" PRIu64 " missing_acks=%" PRIu64
		" bad_tokens=%" PRIu64 " injected_replays=%" PRIu64 " injected_bad_mic=%" PRIu64
		" injected_malformed=%" PRIu64 " late_acks=%" PRIu64 " bad_acks=%" PRIu64
		" malformed_acks=%" PRIu64 " pull_resp=%" PRIu64 " pull_resp_bad=%" PRIu64
		" stat_sent=%" PRIu64 " send_errors=%" PRIu64 " joins_sent=%" PRIu64
		" joins_ok=%" PRIu64 " join_retries=%" PRIu64 " downlinks_ok=%" PRIu64
		" downlinks_bad=%" PRIu64 " downlinks_rx1=%" PRIu64 " downlinks_rx2=%" PRIu64
		" acks_sent=%" PRIu64 " acks_received=%" PRIu64 " txack_sent=%" PRIu64
		" txack_errors_injected=%" PRIu64 " downlinks_late=%" PRIu64
		" acks_missing=%" PRIu64 " downlinks_rxc=%" PRIu64
		" mac_link_adr_applied=%" PRIu64 " mac_link_adr_refused=%" PRIu64
		" mac_link_adr_ignored=%" PRIu64 " mac_dev_status=%" PRIu64 " mac_rx_param=%" PRIu64
		" mac_rx_timing=%" PRIu64 " mac_new_channel=%" PRIu64 " refused=%" PRIu64
		" joins_lost=%" PRIu64 " unheard_uplinks=%" PRIu64 " unheard_joins=%" PRIu64
		" joins_cflist=%" PRIu64 " mac_link_adr_keep=%" PRIu64
		" downlinks_overtaken=%" PRIu64 "\n",
		s->sent_uplinks, s->push_data, s->push_ack, s->pull_data, s->pull_ack,
		s->missing_acks, s->bad_tokens, s->injected_replays, s->injected_bad_mic,
		s->injected_malformed, s->late_acks, s->bad_acks, s->malformed_acks, s->pull_resp,
		s->pull_resp_bad, s->stat_sent, s->send_errors, s->joins_sent, s->joins_ok,
		s->join_retries, s->downlinks_ok, s->downlinks_bad, s->downlinks_rx1, s->downlinks_rx2,
		s->acks_sent, s->acks_received, s->txack_sent, s->txack_errors_injected,
		s->downlinks_late, s->acks_missing, s->downlinks_rxc, s->mac_link_adr_applied,
		s->mac_link_adr_refused, s->mac_link_adr_ignored, s->mac_dev_status, s->mac_rx_param,
		s->mac_rx_timing, s->mac_new_channel, s->refused, s->joins_lost, s->unheard_uplinks,
		s->unheard_joins, s->joins_cflist, s->mac_link_adr_keep, s->downlinks_overtaken);
}
