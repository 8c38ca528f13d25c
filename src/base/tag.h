/* SPDX-License-Identifier: MIT */
/*
 * tag.h - a key/value string pair: a device's user tags, from the
 * configuration (config/) through the registry (tables/devices.h) into
 * every event's deviceInfo.tags (events/). The owner of the strings is
 * whoever holds the array; this header only names the shape.
 */
#ifndef LB_TAG_H
#define LB_TAG_H

struct lb_tag {
	char *key;
	char *value;
};

#endif
