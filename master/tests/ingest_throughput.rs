//! TEMPORARY measurement harness (reuses the integration seeding source).
#![allow(clippy::unwrap_used, clippy::expect_used, dead_code)]
#[path = "../../integration/src/bench/api_seed.rs"]
mod api_seed;

/// TEMPORARY: store-level read throughput against SEED_DATABASE_URL.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "measurement"]
async fn read_throughput() {
    use decnet_master::store::{attackers, events, stats};
    use std::time::{Duration, Instant};
    let url = std::env::var("SEED_DATABASE_URL").unwrap();
    let settings = decnet_master::config::DatabaseConfig::default();
    let store = decnet_master::store::Store::connect(url.parse().unwrap(), &settings).await.unwrap();
    for (name, which) in [("events_list_uncached", 0), ("events_list_cached", 1), ("events_search", 2), ("attackers_cached", 3), ("attackers_page2", 4), ("stats", 5)] {
        let deadline = Instant::now() + Duration::from_secs(4);
        let mut tasks = tokio::task::JoinSet::new();
        for _ in 0..32 {
            let store = store.clone();
            tasks.spawn(async move {
                let mut n = 0u64;
                let mut worst = Duration::ZERO;
                let search = decnet_master::search::Query::parse("service:ssh event:login_attempt").unwrap();
                let first = attackers::list(&store, attackers::Sort::Recent, None, 50).await.unwrap();
                while Instant::now() < deadline {
                    let t = Instant::now();
                    match which {
                        0 => { store.invalidate(); events::list(&store, &events::EventQuery { limit: 50, ..Default::default() }).await.unwrap(); }
                        1 => { events::list(&store, &events::EventQuery { limit: 50, ..Default::default() }).await.unwrap(); }
                        2 => { events::list(&store, &events::EventQuery { limit: 50, search: Some(search.clone()), ..Default::default() }).await.unwrap(); }
                        3 => { attackers::list(&store, attackers::Sort::Recent, None, 50).await.unwrap(); }
                        4 => { attackers::list(&store, attackers::Sort::Recent, first.next_cursor.as_ref(), 50).await.unwrap(); }
                        _ => { stats::summary(&store).await.unwrap(); }
                    }
                    worst = worst.max(t.elapsed());
                    n += 1;
                }
                (n, worst)
            });
        }
        let (mut total, mut worst) = (0, Duration::ZERO);
        while let Some(r) = tasks.join_next().await {
            let (n, w) = r.unwrap();
            total += n;
            worst = worst.max(w);
        }
        println!("{name}: {:.0} req/s (max {:?})", total as f64 / 4.0, worst);
    }
}
