/*
 * uplink.h - from a de-duplicated frame to a published `up` (or `log`)
 * event: parse the PHYPayload, find the device whose MIC verifies, check the
 * frame counter, decrypt, and publish. Every frame that is not published is
 * counted in stats.frame_drops with its reason (stats.h).
 */
#ifndef LB_UPLINK_H
#define LB_UPLINK_H

#include "daemon/bridge.h"
#include "tables/dedup.h"

/* The dedup emit callback: arg is the struct bridge. */
void uplink_process(void *arg, struct dedup_group *g);

#endif
