#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
# Writes the seed corpus of fuzz_dhcp_server: python3 fuzz/gen_dhcp_server_corpus.py fuzz/corpus/dhcp_server
import struct, os, sys
out = sys.argv[1]
def csum(b):
    if len(b) % 2: b += b'\0'
    s = sum(struct.unpack('!%dH' % (len(b)//2), b))
    while s >> 16: s = (s & 0xffff) + (s >> 16)
    return (~s) & 0xffff
def ip(a): return struct.unpack('!I', bytes(a))[0]
def dhcp(mac, typ, ciaddr=0, req=0, sid=0, extra=b'', dst=b'\xff'*6, flags=0):
    b = struct.pack('!BBBBIHHIIII', 1, 1, 6, 0, 0x1234, 0, flags, ciaddr, 0, 0, 0) + mac + b'\0'*10 + b'\0'*192
    b += struct.pack('!I', 0x63825363) + bytes([53, 1, typ])
    if req: b += bytes([50, 4]) + struct.pack('!I', req)
    if sid: b += bytes([54, 4]) + struct.pack('!I', sid)
    b += extra + b'\xff'
    udp = struct.pack('!HHHH', 68, 67, 8 + len(b), 0) + b
    iph = struct.pack('!BBHHHBBHII', 0x45, 0, 20 + len(udp), 0, 0, 64, 17, 0, ciaddr, 0xffffffff)
    iph = iph[:10] + struct.pack('!H', csum(iph)) + iph[12:]
    return dst + mac + b'\x08\x00' + iph + udp
def arp(mac, sip, tip):
    return b'\xff'*6 + mac + b'\x08\x06' + struct.pack('!HHBBH', 1, 0x800, 6, 4, 1) + mac + struct.pack('!I', sip) + b'\0'*6 + struct.pack('!I', tip)
def seq(*frames):
    return b''.join(struct.pack('!H', len(f)) + f for f in frames)
A = bytes([0x52,0x54,0,0,0,1]); B = bytes([0x52,0x54,0,0,0,2])
S = ip([10,0,5,1]); Y = ip([10,0,5,10])
cases = {
 'discover': seq(dhcp(A, 1)),
 'full_exchange': seq(dhcp(A, 1), dhcp(A, 3, req=Y, sid=S), dhcp(A, 3, ciaddr=Y), dhcp(A, 7, ciaddr=Y, sid=S)),
 'two_clients': seq(dhcp(A, 1), dhcp(B, 1, req=Y), dhcp(B, 3, req=Y, sid=S), dhcp(A, 3, req=Y, sid=S)),
 'decline': seq(dhcp(A, 1), dhcp(A, 3, req=Y, sid=S), dhcp(A, 4, req=Y, sid=S), dhcp(B, 1)),
 'inform': seq(dhcp(A, 8, ciaddr=ip([10,0,5,99]))),
 'init_reboot_other_net': seq(dhcp(A, 3, req=ip([192,168,1,5]))),
 'broadcast_flag': seq(dhcp(A, 1, flags=0x8000)),
 'arp': seq(arp(A, Y, S), arp(A, Y, ip([10,0,5,7]))),
 'overload': seq(dhcp(A, 1, extra=bytes([52, 1, 3]))),
 'bad_option_len': seq(dhcp(A, 1, extra=bytes([12, 200]))),
 'many_discover': seq(*[dhcp(bytes([0x52,0x54,0,0,1,i]), 1) for i in range(40)]),
 'unicast_to_server': seq(dhcp(A, 3, ciaddr=Y, dst=bytes([2,0x6d,0x71,0,5,1]))),
 'empty': b'',
 'truncated': seq(dhcp(A, 1))[:100],
}
for k, v in cases.items():
    open(os.path.join(out, k), 'wb').write(v)
