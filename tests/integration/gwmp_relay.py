#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
"""A UDP relay between a simulated gateway and the bridge that can hold the
gateway's TX_ACKs and uplinks, for test_shutdown_flush.sh:
    gwmp_relay.py LISTEN_PORT BRIDGE_PORT DIR
Every datagram is relayed both ways (the gateway's PUSH_DATA socket gets
the PUSH_ACKs, its PULL_DATA socket the rest, as a packet forwarder's two
sockets expect; Semtech PROTOCOL.TXT §3-5). While
DIR/hold exists, a TX_ACK (identifier 5) from the gateway is kept and
DIR/held is written; once DIR/release exists the kept ones are relayed
and DIR/released is written. Likewise a PUSH_DATA (identifier 0) while
DIR/hold-up exists (DIR/held-up), relayed once DIR/release-up exists;
the PUSH_ACKs that come back after that are noted in DIR/up-acked. When
DIR/hold-up names a gateway EUI (16 hex digits), only that gateway's
PUSH_DATA are held: the others go on at once, so one frame heard by two
gateways can reach the bridge once now and once later.
A PUSH_ACK goes back to the address its PUSH_DATA came from (several
simulated gateways may push at once), PULL_RESP and PULL_ACK to the
latest PULL_DATA's.
DIR/ready is written once both sockets are bound. Runs until killed."""
import os
import socket
import sys
import threading
import time

LISTEN, BRIDGE, DIR = int(sys.argv[1]), int(sys.argv[2]), sys.argv[3]
PUSH_DATA, PUSH_ACK, TX_ACK = 0, 1, 5

RCVBUF = 4 << 20        # a burst of 1,100 datagrams and their 1,100 PUSH_ACKs


def udp_socket(port):
    """A bound UDP socket whose receive buffer holds a burst (SO_RCVBUFFORCE
    as root, else SO_RCVBUF up to the system's rmem_max)."""
    s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    try:
        s.setsockopt(socket.SOL_SOCKET, getattr(socket, "SO_RCVBUFFORCE", 33), RCVBUF)
    except OSError:
        s.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, RCVBUF)
    s.bind(("127.0.0.1", port))
    return s


gw_side = udp_socket(LISTEN)
bridge_side = udp_socket(0)
peers = {}
push_from = {}          # PUSH_DATA token -> the gateway address it came from
held = {"release": [], "release-up": []}
lock = threading.Lock()


def note(name):
    with open(os.path.join(DIR, name), "a") as f:
        f.write("%f\n" % time.time())


def hold_up(data):
    """Is this PUSH_DATA to be held (DIR/hold-up, and its gateway's EUI if named)?"""
    try:
        with open(os.path.join(DIR, "hold-up")) as f:
            eui = f.read().strip()
    except FileNotFoundError:
        return False
    return not eui or data[4:12].hex() == eui.lower()


def from_gateway():
    while True:
        data, addr = gw_side.recvfrom(65535)
        ident = data[3] if len(data) > 3 else -1
        peers["push" if ident == PUSH_DATA else "pull"] = addr
        if ident == PUSH_DATA:
            push_from[bytes(data[1:3])] = addr
        with lock:
            if ident == TX_ACK and os.path.exists(os.path.join(DIR, "hold")):
                held["release"].append(data)
                note("held")
                continue
            if ident == PUSH_DATA and hold_up(data):
                held["release-up"].append(data)
                note("held-up")
                continue
        bridge_side.sendto(data, ("127.0.0.1", BRIDGE))


def release():
    while True:
        time.sleep(0.02)
        with lock:
            for flag, kept in held.items():
                if not kept or not os.path.exists(os.path.join(DIR, flag)):
                    continue
                for data in kept:
                    bridge_side.sendto(data, ("127.0.0.1", BRIDGE))
                note(flag.replace("release", "released"))
                kept.clear()


note("ready")
threading.Thread(target=from_gateway, daemon=True).start()
threading.Thread(target=release, daemon=True).start()
while True:
    data, _ = bridge_side.recvfrom(65535)
    ident = data[3] if len(data) > 3 else -1
    if ident == PUSH_ACK and os.path.exists(os.path.join(DIR, "release-up")):
        note("up-acked")
    peer = peers.get("push" if ident == PUSH_ACK else "pull")
    if ident == PUSH_ACK:
        peer = push_from.pop(bytes(data[1:3]), peer)
    if peer:
        gw_side.sendto(data, peer)
