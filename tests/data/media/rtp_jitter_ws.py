# Makes rtp_jitter_ws.txt (seq ts arrival_us, arrival order) and s.pcap, whose tshark
# "-d udp.port==40000,rtp -q -z rtp,streams" figures test_rtpstats.c checks.
import struct, random
random.seed(7)
pk=[]
seq=100; ts=1000
t=1.0
pkts=[]
for k in range(300):
    jit = random.choice([0,0,0.004,0.011,0.0,0.025])
    arr = 1.0 + 0.02*k + jit
    s=(seq+k)&0xffff; tsv=(ts+160*k)&0xffffffff
    pkts.append((arr,s,tsv))
# reorder two
pkts[50],pkts[51]=pkts[51],pkts[50]
pkts.sort(key=lambda p:p[0])
def ip_udp(payload):
    udp=struct.pack('!HHHH',40000,40002,8+len(payload),0)+payload
    ip=struct.pack('!BBHHHBBH4s4s',0x45,0,20+len(udp),0,0,64,17,0,bytes([127,0,0,1]),bytes([127,0,0,2]))
    return ip+udp
with open('s.pcap','wb') as f, open('rtp_jitter_ws.txt','w') as o:
    f.write(struct.pack('<IHHiIII',0xa1b2c3d4,2,4,0,0,65535,101))
    for arr,s,tsv in pkts:
        rtp=struct.pack('!BBHII',0x80,0,s,tsv,0x1234)+bytes([0xff]*160)
        d=ip_udp(rtp)
        sec=int(arr); us=int(round((arr-sec)*1e6))
        f.write(struct.pack('<IIII',sec,us,len(d),len(d)))
        f.write(d)
        o.write("%d %d %d\n"%(s,tsv,sec*1000000+us))
