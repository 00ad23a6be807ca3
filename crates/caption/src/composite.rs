//! Warm-pixel clear-sky composites: for each frame, the per-pixel maximum BT over the
//! frames of the same grid and the same UTC time of day within ± `window_days`.
//!
//! Clouds are colder than the surface under them, so over a week at a fixed hour the
//! warmest value of a pixel is usually its clear-sky surface temperature, diurnal
//! cycle included. Persistent cloud (a week-long stratus deck) makes the composite too
//! cold; an air-mass change within the window makes it too warm.
//!
//! Frames are visited group by group (grid, time of day) in time order with a sliding
//! window, so at most `2 × window_days + 1` frames of a group are in memory.

use std::collections::VecDeque;

use chrono::{DateTime, Timelike, Utc};

/// One frame to visit: its time and the key of its grid.
#[derive(Debug, Clone)]
pub struct Item {
    /// Observation time.
    pub time: DateTime<Utc>,
    /// Grid identity (frames of different grids never mix).
    pub grid: String,
}

/// Elementwise maximum of finite values (NaN where no frame has data).
fn max_into(acc: &mut [f32], bt: &[f32]) {
    for (a, &b) in acc.iter_mut().zip(bt) {
        if b.is_finite() && !(a.is_finite() && *a >= b) {
            *a = b;
        }
    }
}

/// Visit every item with its composite. `load(i)` gives item `i`'s frame (with its BT via
/// `bt(&frame)`); `visit(i, result)` gets the frame, its composite and the number of
/// frames that went into it (the frame itself included), or the load error.
/// Items are visited grouped by (grid, time of day), in time order within a group.
pub fn for_each_with_composite<T, E, L, B, V>(
    items: &[Item],
    window_days: i64,
    mut load: L,
    bt: B,
    mut visit: V,
) -> Result<(), E>
where
    L: FnMut(usize) -> Result<T, E>,
    B: Fn(&T) -> &[f32],
    V: FnMut(usize, Result<(&T, &[f32], usize), E>) -> Result<(), E>,
{
    let mut groups: std::collections::BTreeMap<(String, u32), Vec<usize>> = Default::default();
    for (i, it) in items.iter().enumerate() {
        let tod = it.time.num_seconds_from_midnight();
        groups.entry((it.grid.clone(), tod)).or_default().push(i);
    }
    let window = chrono::Duration::days(window_days);
    for (_, mut idx) in groups {
        idx.sort_by_key(|&i| items[i].time);
        let mut deque: VecDeque<(usize, Option<T>)> = VecDeque::new();
        let mut next = 0usize;
        for &j in &idx {
            let tj = items[j].time;
            while next < idx.len() && items[idx[next]].time <= tj + window {
                let k = idx[next];
                match load(k) {
                    Ok(f) => deque.push_back((k, Some(f))),
                    Err(e) => {
                        deque.push_back((k, None));
                        visit(k, Err(e))?;
                    }
                }
                next += 1;
            }
            while deque.front().is_some_and(|(k, _)| items[*k].time < tj - window) {
                deque.pop_front();
            }
            let Some(Some(frame)) = deque.iter().find(|(k, _)| *k == j).map(|(_, f)| f.as_ref()) else {
                continue; // its load error was already reported
            };
            let mut acc = vec![f32::NAN; bt(frame).len()];
            let mut used = 0usize;
            for (_, f) in &deque {
                if let Some(f) = f {
                    if bt(f).len() == acc.len() {
                        max_into(&mut acc, bt(f));
                        used += 1;
                    }
                }
            }
            visit(j, Ok((frame, &acc, used)))?;
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn composite_is_windowed_max_per_time_of_day() {
        // Daily frames at 00 and 12 UTC for 10 days; value = day (00 UTC) or 100 + day (12 UTC).
        let mut items = vec![];
        for d in 0..10 {
            for h in [0, 12] {
                items.push(Item {
                    time: format!("2017-11-{:02}T{h:02}:00:00Z", d + 1).parse().unwrap(),
                    grid: "g".into(),
                });
            }
        }
        let mut seen = vec![None; items.len()];
        for_each_with_composite(
            &items,
            2,
            |i| Ok::<Vec<f32>, String>(vec![if i % 2 == 0 { (i / 2) as f32 } else { 100.0 + (i / 2) as f32 }, f32::NAN]),
            |f| f.as_slice(),
            |i, r| {
                let (_, c, used) = r?;
                seen[i] = Some((c[0], c[1].is_nan()));
                // Day 3 at 00 UTC sees days 1..=5: five frames.
                if i == 6 {
                    assert_eq!(used, 5);
                }
                Ok(())
            },
        )
        .unwrap();
        // Day 3 at 00 UTC (item 6): max over days 1..=5 at 00 UTC -> 5.
        assert_eq!(seen[6], Some((5.0, true)));
        // Last day at 12 UTC (item 19): days 7..=9 -> 109.
        assert_eq!(seen[19], Some((109.0, true)));
        assert!(seen.iter().all(|s| s.is_some()));
    }

    #[test]
    fn load_errors_are_reported_once_and_skipped() {
        let items: Vec<Item> = (0..3)
            .map(|d| Item { time: format!("2017-11-0{}T00:00:00Z", d + 1).parse().unwrap(), grid: "g".into() })
            .collect();
        let mut errs = 0;
        let mut ok = 0;
        for_each_with_composite(
            &items,
            1,
            |i| if i == 1 { Err("broken".to_string()) } else { Ok(vec![1.0f32]) },
            |f| f.as_slice(),
            |_, r| {
                match r {
                    Ok(_) => ok += 1,
                    Err(_) => errs += 1,
                }
                Ok::<(), String>(())
            },
        )
        .unwrap();
        assert_eq!((ok, errs), (2, 1));
    }
}
