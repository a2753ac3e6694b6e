#!/usr/bin/env python3
"""A pjsua2 SIP peer driven by Vaarta's interop tests.

Prints one JSON object per line on stdout: {"ev": "ready", "port": N} first, then call
events. Modes:
  call URI      place a call; optional --play/--record/--dtmf/--hangup-after/--cancel-after
  listen        wait for calls; --answer (200), --busy (486), --ring (180 forever), --by-number
Exits when the (last) call disconnects or after --timeout seconds.
"""
import argparse
import json
import os
import sys
import time

import pjsua2 as pj


def emit(**kw):
    sys.stdout.write(json.dumps(kw) + "\n")
    sys.stdout.flush()


class Call(pj.Call):
    def __init__(self, acc, args, call_id=pj.PJSUA_INVALID_ID):
        super().__init__(acc, call_id)
        self.args = args
        self.player = None
        self.recorder = None
        self.done = False
        self.confirmed_at = None
        self.dtmf_sent = False
        self.created_at = time.time()

    def onCallState(self, prm):
        ci = self.getInfo()
        emit(ev="state", state=ci.stateText, code=ci.lastStatusCode, reason=ci.lastReason)
        if ci.state == pj.PJSIP_INV_STATE_CONFIRMED:
            self.confirmed_at = time.time()
        if ci.state == pj.PJSIP_INV_STATE_DISCONNECTED:
            self.done = True

    def onCallMediaState(self, prm):
        ci = self.getInfo()
        for i, mi in enumerate(ci.media):
            if mi.type == pj.PJMEDIA_TYPE_AUDIO and mi.status == pj.PJSUA_CALL_MEDIA_ACTIVE:
                am = self.getAudioMedia(i)
                if self.args.play and self.player is None:
                    self.player = pj.AudioMediaPlayer()
                    self.player.createPlayer(self.args.play, 0 if self.args.loop_play else pj.PJMEDIA_FILE_NO_LOOP)
                    self.player.startTransmit(am)
                if self.args.record and self.recorder is None:
                    self.recorder = pj.AudioMediaRecorder()
                    self.recorder.createRecorder(self.args.record)
                    am.startTransmit(self.recorder)
                emit(ev="media", status="active")
            elif mi.type == pj.PJMEDIA_TYPE_AUDIO:
                emit(ev="media", status=str(mi.status))

    def onDtmfDigit(self, prm):
        emit(ev="dtmf", digit=prm.digit)

    def onCallTransferRequest(self, prm):
        emit(ev="transfer_request", target=prm.dstUri)
        prm.statusCode = 603 if self.args.refuse_transfer else 202

    def onCallTransferStatus(self, prm):
        emit(ev="transfer_status", code=prm.statusCode, final=prm.finalNotify)


class Account(pj.Account):
    def __init__(self, args):
        super().__init__()
        self.args = args
        self.calls = []

    def onIncomingCall(self, prm):
        c = Call(self, self.args, prm.callId)
        self.calls.append(c)
        ci = c.getInfo()
        to = ci.localUri.split("sip:", 1)[-1].split("@", 1)[0]
        emit(ev="incoming", remote=ci.remoteUri, to=to)
        op = pj.CallOpParam()
        # --by-number: the dialled number's last digit decides (0-5 answer, 6-7 busy, 8-9 ring).
        last = to[-1:] if self.args.by_number else ""
        if self.args.busy or last in ("6", "7"):
            op.statusCode = 486
        elif self.args.ring or last in ("8", "9"):
            op.statusCode = 180
        else:
            op.statusCode = 200
        c.answer(op)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("mode", choices=["call", "listen"])
    ap.add_argument("uri", nargs="?")
    ap.add_argument("--play")
    ap.add_argument("--record")
    ap.add_argument("--dtmf")
    ap.add_argument("--dtmf-after", type=float, default=1.0)
    ap.add_argument("--hangup-after", type=float)
    ap.add_argument("--cancel-after", type=float)
    ap.add_argument("--hold-after", type=float)
    ap.add_argument("--unhold-after", type=float)
    ap.add_argument("--refuse-transfer", action="store_true")
    ap.add_argument("--loop-play", action="store_true")
    ap.add_argument("--busy", action="store_true")
    ap.add_argument("--ring", action="store_true")
    ap.add_argument("--port", type=int, default=0, help="SIP UDP port (default: any free one)")
    ap.add_argument("--max-call-s", type=float, help="hang up any call (ringing or up) older than this: a caller that died leaves none behind")
    ap.add_argument("--by-number", action="store_true", help="listen: last digit of the dialled number: 0-5 answer, 6-7 busy, 8-9 ring")
    ap.add_argument("--timeout", type=float, default=30)
    ap.add_argument("--calls", type=int, default=1, help="listen: exit after this many calls ended")
    args = ap.parse_args()

    ep = pj.Endpoint()
    ep.libCreate()
    cfg = pj.EpConfig()
    cfg.uaConfig.threadCnt = 0
    cfg.uaConfig.mainThreadOnly = True
    cfg.uaConfig.maxCalls = 31  # below the compiled PJSUA_MAX_CALLS (32): the campaign tests keep several calls up
    cfg.logConfig.level = 1
    cfg.logConfig.consoleLevel = 1
    if os.environ.get("PJSUA_LOG"):  # debugging: full SIP trace to this file
        cfg.logConfig.level = 5
        cfg.logConfig.filename = os.environ["PJSUA_LOG"]
    cfg.medConfig.noVad = True
    cfg.medConfig.clockRate = 8000
    cfg.medConfig.sndClockRate = 8000
    cfg.medConfig.ecTailLen = 0
    ep.libInit(cfg)
    ep.audDevManager().setNullDev()
    for codec in ep.codecEnum2():
        pri = 255 if codec.codecId.startswith("PCMU/8000") else 254 if codec.codecId.startswith("PCMA/8000") else 0
        ep.codecSetPriority(codec.codecId, pri)
    tcfg = pj.TransportConfig()
    tcfg.port = args.port
    tcfg.boundAddress = "127.0.0.1"
    tcfg.publicAddress = "127.0.0.1"
    tid = ep.transportCreate(pj.PJSIP_TRANSPORT_UDP, tcfg)
    port = int(ep.transportGetInfo(tid).localName.rsplit(":", 1)[1])
    ep.libStart()

    acfg = pj.AccountConfig()
    acfg.idUri = "sip:peer@127.0.0.1:%d" % port
    acfg.mediaConfig.transportConfig.boundAddress = "127.0.0.1"
    acfg.mediaConfig.transportConfig.publicAddress = "127.0.0.1"
    acfg.natConfig.sdpNatRewriteUse = 0
    acfg.natConfig.contactRewriteUse = 0
    acfg.natConfig.viaRewriteUse = 0
    acc = Account(args)
    acc.create(acfg)
    emit(ev="ready", port=port)

    deadline = time.time() + args.timeout
    started = time.time()
    if args.mode == "call":
        c = Call(acc, args)
        acc.calls.append(c)
        c.makeCall(args.uri, pj.CallOpParam(True))
    try:
        while time.time() < deadline:
            ep.libHandleEvents(10)
            now = time.time()
            for c in list(acc.calls):
                if c.done:
                    continue
                if args.dtmf and not c.dtmf_sent and c.confirmed_at and now - c.confirmed_at > args.dtmf_after:
                    c.dtmf_sent = True
                    c.dialDtmf(args.dtmf)
                    emit(ev="dtmf_sent", digits=args.dtmf)
                if args.hold_after is not None and c.confirmed_at and now - c.confirmed_at > args.hold_after:
                    c.setHold(pj.CallOpParam(True))
                    emit(ev="hold_sent")
                    args.hold_after = None
                if args.unhold_after is not None and c.confirmed_at and now - c.confirmed_at > args.unhold_after:
                    op = pj.CallOpParam(True)
                    op.opt.flag = pj.PJSUA_CALL_UNHOLD
                    c.reinvite(op)
                    emit(ev="unhold_sent")
                    args.unhold_after = None
                if args.max_call_s is not None and not getattr(c, "expired", False) and now - c.created_at > args.max_call_s:
                    c.expired = True
                    emit(ev="expired", age=round(now - c.created_at, 1))
                    try:
                        c.hangup(pj.CallOpParam())
                    except pj.Error:
                        pass
                if args.hangup_after is not None and c.confirmed_at and now - c.confirmed_at > args.hangup_after:
                    c.hangup(pj.CallOpParam())
                    args.hangup_after = None
                if args.cancel_after is not None and c.confirmed_at is None and now - started > args.cancel_after:
                    c.hangup(pj.CallOpParam())
                    args.cancel_after = None
            ended = [c for c in acc.calls if c.done]
            if args.mode == "call" and ended:
                break
            if args.mode == "listen" and len(ended) >= args.calls:
                break
        else:
            emit(ev="timeout")
    finally:
        for c in acc.calls:
            if c.recorder is not None:
                del c.recorder
                c.recorder = None
        emit(ev="exit")
        ep.libDestroy()


if __name__ == "__main__":
    main()
