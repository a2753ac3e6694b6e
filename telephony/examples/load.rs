//! Load generator and measuring server for `bench/telephony/run.sh`.
//!
//! server: `load server <bind> <calls> <secs>` answers `calls` inbound calls, streams a tone
//!         to each, measures its own CPU and memory while all calls are up for `secs`, then
//!         prints one JSON line with per-call figures and hangs up.
//! client: `load client <target> <calls>` (Vaarta's own UAC) dials `calls` calls, streams a
//!         tone on each, and waits until the server hangs up; prints its loss counters.
use std::time::{Duration, Instant};
use tokio::sync::mpsc;
use vaarta_telephony::rtp::session::{JitterHistogram, MediaStats};
use vaarta_telephony::{CallId, DialRequest, Event, Frame, Telephony, TelephonyConfig};

fn tone(seconds: usize, hz: f64) -> Vec<Frame> {
    let mut frames = Vec::with_capacity(seconds * 50);
    let mut n = 0usize;
    for _ in 0..seconds * 50 {
        let mut f = [0i16; 160];
        for s in f.iter_mut() {
            *s = (8000.0 * (2.0 * std::f64::consts::PI * hz * n as f64 / 8000.0).sin()) as i16;
            n += 1;
        }
        frames.push(f);
    }
    frames
}

/// (user+system CPU seconds, resident set in KiB) of this process.
fn usage() -> (f64, u64) {
    let stat = std::fs::read_to_string("/proc/self/stat").unwrap_or_default();
    let after = stat.rsplit_once(')').map(|(_, r)| r).unwrap_or("");
    let f: Vec<&str> = after.split_whitespace().collect();
    let ticks = f.get(11).and_then(|v| v.parse::<f64>().ok()).unwrap_or(0.0)
        + f.get(12).and_then(|v| v.parse::<f64>().ok()).unwrap_or(0.0);
    let status = std::fs::read_to_string("/proc/self/status").unwrap_or_default();
    let rss = status
        .lines()
        .find(|l| l.starts_with("VmRSS:"))
        .and_then(|l| l.split_whitespace().nth(1)?.parse().ok())
        .unwrap_or(0);
    (ticks / 100.0, rss)
}

fn drain(mut audio: mpsc::Receiver<Frame>) {
    tokio::spawn(async move { while audio.recv().await.is_some() {} });
}

async fn total(tel: &Telephony, calls: &[CallId]) -> MediaStats {
    let mut sum = MediaStats::default();
    for c in calls {
        if let Some(s) = tel.media_stats(*c).await {
            sum.sent += s.sent;
            sum.received += s.received;
            sum.lost += s.lost;
            sum.late += s.late;
            sum.send_jitter.merge(&s.send_jitter);
        }
    }
    sum
}

#[tokio::main]
async fn main() {
    let args: Vec<String> = std::env::args().collect();
    let role = args.get(1).map(String::as_str).unwrap_or("");
    let addr = args
        .get(2)
        .cloned()
        .unwrap_or_else(|| "127.0.0.1:5080".into());
    let calls: usize = args.get(3).and_then(|v| v.parse().ok()).unwrap_or(15);
    match role {
        "server" => {
            let secs: u64 = args.get(4).and_then(|v| v.parse().ok()).unwrap_or(20);
            let cfg = TelephonyConfig {
                bind: addr.parse().unwrap(),
                max_calls: calls + 10,
                rtp_port_min: 20000,
                rtp_port_max: 21998,
                ..Default::default()
            };
            let (tel, mut ev) = Telephony::start(cfg).await.unwrap();
            tokio::time::sleep(Duration::from_millis(300)).await;
            let (_, rss0) = usage();
            // streamed like TTS: one second queued at answer, topped up every 500 ms
            let prompt = tone(1, 440.0);
            let half: Vec<Frame> = prompt[..25].to_vec();
            let answered: std::sync::Arc<std::sync::Mutex<Vec<CallId>>> = Default::default();
            {
                let (tel, answered, half) = (tel.clone(), answered.clone(), half.clone());
                tokio::spawn(async move {
                    let mut tick = tokio::time::interval(Duration::from_millis(500));
                    loop {
                        tick.tick().await;
                        let ids = answered.lock().unwrap().clone();
                        for c in ids {
                            let _ = tel.play(c, half.clone()).await;
                        }
                    }
                });
            }
            let mut up = Vec::new();
            let deadline = Instant::now() + Duration::from_secs(60);
            while up.len() < calls && Instant::now() < deadline {
                let Ok(Some(e)) = tokio::time::timeout(Duration::from_secs(5), ev.recv()).await
                else {
                    continue;
                };
                match e {
                    Event::Incoming(c) => {
                        drain(c.audio);
                        tel.answer(c.call).await.unwrap();
                        tel.play(c.call, prompt.clone()).await.unwrap();
                        answered.lock().unwrap().push(c.call);
                    }
                    Event::Answered { call } => up.push(call),
                    _ => {}
                }
            }
            assert_eq!(up.len(), calls, "not all calls came up");
            tokio::time::sleep(Duration::from_secs(1)).await;
            let before = total(&tel, &up).await;
            let (cpu1, _) = usage();
            let t1 = Instant::now();
            tokio::time::sleep(Duration::from_secs(secs)).await;
            let (cpu2, rss) = usage();
            let wall = t1.elapsed().as_secs_f64();
            let after = total(&tel, &up).await;
            let mut jitter = JitterHistogram::default();
            jitter.merge(&after.send_jitter);
            for (a, b) in jitter.0.iter_mut().zip(before.send_jitter.0.iter()) {
                *a -= b;
            }
            let expected = (calls as f64 * wall * 50.0) as u64;
            let received = after.received - before.received;
            println!(
                "{{\"calls\":{calls},\"cpu_pct_total\":{:.2},\"cpu_pct_per_call\":{:.3},\"rss_kib_per_call\":{:.1},\"jitter_p50_us\":{},\"jitter_p99_us\":{},\"lost\":{},\"received\":{received},\"expected\":{expected},\"sent\":{}}}",
                100.0 * (cpu2 - cpu1) / wall,
                100.0 * (cpu2 - cpu1) / wall / calls as f64,
                rss.saturating_sub(rss0) as f64 / calls as f64,
                jitter.quantile_us(0.5),
                jitter.quantile_us(0.99),
                after.lost - before.lost,
                after.sent - before.sent,
            );
            for c in &up {
                let _ = tel.hangup(*c).await;
            }
            tokio::time::sleep(Duration::from_millis(500)).await;
        }
        "client" => {
            let cfg = TelephonyConfig {
                bind: "127.0.0.1:0".parse().unwrap(),
                max_calls: calls + 10,
                rtp_port_min: 22000,
                rtp_port_max: 23998,
                ..Default::default()
            };
            let (tel, mut ev) = Telephony::start(cfg).await.unwrap();
            let prompt = tone(60, 300.0);
            let mut ids = Vec::new();
            for _ in 0..calls {
                let out = tel
                    .dial(DialRequest {
                        to: format!("sip:bench@{addr}"),
                        ..Default::default()
                    })
                    .await
                    .unwrap();
                drain(out.audio);
                tel.play(out.call, prompt.clone()).await.unwrap();
                ids.push(out.call);
                tokio::time::sleep(Duration::from_millis(20)).await; // 50 calls/s
            }
            let mut ended = 0;
            let mut lost = 0u64;
            while ended < calls {
                match tokio::time::timeout(Duration::from_secs(120), ev.recv()).await {
                    Ok(Some(Event::Hangup { call, cause })) => {
                        ended += 1;
                        if !matches!(cause, vaarta_telephony::HangupCause::RemoteHangup) {
                            eprintln!("{call}: {cause:?}");
                        }
                    }
                    Ok(Some(_)) => {}
                    _ => break,
                }
                let _ = &mut lost;
            }
            println!("{{\"client_calls_ended\":{ended}}}");
        }
        _ => eprintln!("usage: load server <bind> <calls> <secs> | load client <target> <calls>"),
    }
}
