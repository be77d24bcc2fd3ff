//! Progress of the replicated job from `service ps` (pure: text in, views and
//! lines out). Every task ever seen is remembered, so attempts are counted
//! even after the engine prunes its task history.
//!
//! The engine retries failed tasks (`--restart-condition on-failure`); on
//! Docker 20.10 it ignores `--restart-max-attempts` for jobs and retries
//! forever, so a shard counts as failed once it has failed more than
//! `retries` times, and the run then stops the job.

use std::collections::BTreeMap;

/// `service ps --format` for [`parse_rows`]: tab-separated fields.
pub const PS_FORMAT: &str =
    "{{.ID}}\t{{.Name}}\t{{.Node}}\t{{.DesiredState}}\t{{.CurrentState}}\t{{.Error}}";

/// One task as `service ps` shows it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct TaskRow {
    pub id: String,
    pub slot: u32,
    pub node: String,
    /// The first word of the current state, lower-case: `running`, `complete`, `failed`...
    pub state: String,
    pub error: String,
}

/// The slot from a task name `SERVICE.SLOT`. Slot 0 of a replicated job is
/// named after the node ID instead (Docker 20.10), so a name that is not a
/// number is slot 0.
pub fn slot_of(task_name: &str) -> u32 {
    task_name.rsplit('.').next().and_then(|s| s.parse().ok()).unwrap_or(0)
}

/// Parses `service ps --no-trunc --format PS_FORMAT` output.
pub fn parse_rows(text: &str) -> Vec<TaskRow> {
    text.lines()
        .filter_map(|line| {
            let fields: Vec<&str> = line.split('\t').collect();
            let [id, name, node, _desired, current, rest @ ..] = fields.as_slice() else {
                return None;
            };
            Some(TaskRow {
                id: id.trim().to_string(),
                slot: slot_of(name.trim()),
                node: node.trim().to_string(),
                state: current.split_whitespace().next().unwrap_or("").to_ascii_lowercase(),
                error: rest.join("\t").trim().trim_matches('"').to_string(),
            })
        })
        .filter(|row| !row.id.is_empty())
        .collect()
}

/// Where a shard is.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ShardState {
    Waiting,
    Running,
    Done,
    Failed,
}

/// One shard's state, attempts and the node of its latest task.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ShardView {
    pub index: u32,
    pub state: ShardState,
    pub node: String,
    pub failed_attempts: usize,
    /// The last failed task (its logs explain a failed shard), its error and node.
    pub last_failed_task: Option<String>,
    pub last_failure: String,
    pub last_failure_node: String,
    /// The latest task's error (e.g. why it cannot be scheduled).
    pub last_error: String,
}

const FAILED: [&str; 2] = ["failed", "rejected"];
const RUNNING: [&str; 2] = ["starting", "running"];

/// Every task seen so far, by id.
#[derive(Clone, Debug, Default)]
pub struct Tracker {
    pub shards: u32,
    pub retries: u32,
    /// Task id → (order first seen, latest row).
    tasks: BTreeMap<String, (usize, TaskRow)>,
}

impl Tracker {
    pub fn new(shards: u32, retries: u32) -> Tracker {
        Tracker { shards, retries, tasks: BTreeMap::new() }
    }

    /// Records the rows of one poll.
    pub fn update(&mut self, rows: Vec<TaskRow>) {
        for row in rows {
            let order =
                self.tasks.get(&row.id).map(|(order, _)| *order).unwrap_or(self.tasks.len());
            self.tasks.insert(row.id.clone(), (order, row));
        }
    }

    /// The view of shard `index`.
    pub fn shard(&self, index: u32) -> ShardView {
        let mut tasks: Vec<&(usize, TaskRow)> =
            self.tasks.values().filter(|(_, row)| row.slot == index).collect();
        tasks.sort_by_key(|(order, _)| *order);
        let failed: Vec<&TaskRow> =
            tasks.iter().map(|(_, r)| r).filter(|r| FAILED.contains(&r.state.as_str())).collect();
        let latest = tasks.last().map(|(_, row)| row);
        let done = tasks.iter().find(|(_, r)| r.state == "complete").map(|(_, r)| r);
        let state = if done.is_some() {
            ShardState::Done
        } else if failed.len() > self.retries as usize {
            ShardState::Failed
        } else if tasks.iter().any(|(_, r)| RUNNING.contains(&r.state.as_str())) {
            ShardState::Running
        } else {
            ShardState::Waiting
        };
        ShardView {
            index,
            state,
            node: done.or(latest).map(|r| r.node.clone()).unwrap_or_default(),
            failed_attempts: failed.len(),
            last_failed_task: failed.last().map(|r| r.id.clone()),
            last_failure: failed.last().map(|r| r.error.clone()).unwrap_or_default(),
            last_failure_node: failed.last().map(|r| r.node.clone()).unwrap_or_default(),
            last_error: latest.map(|r| r.error.clone()).unwrap_or_default(),
        }
    }

    pub fn views(&self) -> Vec<ShardView> {
        (0..self.shards).map(|index| self.shard(index)).collect()
    }

    /// Every shard is done or has failed for good.
    pub fn finished(&self) -> bool {
        self.views().iter().all(|v| matches!(v.state, ShardState::Done | ShardState::Failed))
    }

    /// `shards: 1/4 done, 2 running, 0 failed, 1 waiting`.
    pub fn counts_line(&self) -> String {
        let views = self.views();
        let count = |state| views.iter().filter(|v| v.state == state).count();
        format!(
            "shards: {}/{} done, {} running, {} failed, {} waiting",
            count(ShardState::Done),
            self.shards,
            count(ShardState::Running),
            count(ShardState::Failed),
            count(ShardState::Waiting)
        )
    }
}

fn on_node(node: &str) -> String {
    if node.is_empty() {
        String::new()
    } else {
        format!(" on {node}")
    }
}

/// What changed between two views of a shard, as a line, if anything did.
pub fn event(before: Option<&ShardView>, now: &ShardView, retries: u32) -> Option<String> {
    let index = now.index;
    let node = on_node(&now.node);
    let failed_on = on_node(&now.last_failure_node);
    if let Some(before) = before {
        if now.failed_attempts > before.failed_attempts && now.state != ShardState::Failed {
            return Some(format!(
                "shard {index} failed{failed_on} ({}); the engine retries it ({} of {retries})",
                now.last_failure, now.failed_attempts
            ));
        }
        if before.state == now.state
            && (now.state != ShardState::Waiting || before.last_error == now.last_error)
        {
            return None;
        }
    }
    match now.state {
        ShardState::Done => Some(format!("shard {index} done{node}")),
        ShardState::Running => Some(format!("shard {index} running{node}")),
        ShardState::Failed => Some(format!(
            "shard {index} failed{failed_on} ({}) after {} attempt(s)",
            now.last_failure, now.failed_attempts
        )),
        ShardState::Waiting if !now.last_error.is_empty() => {
            Some(format!("shard {index} waiting: {}", now.last_error))
        }
        ShardState::Waiting => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const PS: &str = "t1\tjob.1\tvm\tShutdown\tFailed 3 seconds ago\t\"task: non-zero exit (3)\"\n\
                      t2\tjob.1\tvm\tComplete\tRunning 1 second ago\t\n\
                      t3\tjob.zwjrsj8y6yjp61kg47ewoau0h\tvm\tComplete\tComplete 2 seconds ago\t\n";

    #[test]
    fn rows_are_parsed_and_slot_zero_is_the_node_id() {
        let rows = parse_rows(PS);
        assert_eq!(rows.len(), 3);
        assert_eq!(rows[0].slot, 1);
        assert_eq!(rows[0].state, "failed");
        assert_eq!(rows[0].error, "task: non-zero exit (3)");
        assert_eq!(rows[2].slot, 0);
        assert_eq!(rows[2].state, "complete");
        assert_eq!(slot_of("scylla-swarm-1-ab.12"), 12);
    }

    #[test]
    fn a_retried_shard_runs_then_finishes() {
        let mut tracker = Tracker::new(2, 1);
        tracker.update(parse_rows(PS));
        assert_eq!(tracker.shard(0).state, ShardState::Done);
        let one = tracker.shard(1);
        assert_eq!((one.state, one.failed_attempts), (ShardState::Running, 1));
        assert_eq!(one.last_failed_task.as_deref(), Some("t1"));
        assert!(!tracker.finished());
        assert_eq!(tracker.counts_line(), "shards: 1/2 done, 1 running, 0 failed, 0 waiting");
        tracker.update(parse_rows("t2\tjob.1\tvm\tComplete\tComplete now\t\n"));
        assert!(tracker.finished());
        assert_eq!(tracker.shard(1).node, "vm");
    }

    #[test]
    fn a_shard_fails_for_good_after_its_retries_even_if_the_engine_goes_on() {
        let mut tracker = Tracker::new(1, 1);
        let rows = "a\tjob.x\tn1\tShutdown\tFailed 9 s ago\t\"task: non-zero exit (1)\"\n\
                    b\tjob.x\tn2\tShutdown\tFailed 5 s ago\t\"task: non-zero exit (1)\"\n\
                    c\tjob.x\tn1\tComplete\tStarting now\t\n";
        tracker.update(parse_rows(rows));
        let view = tracker.shard(0);
        assert_eq!(view.state, ShardState::Failed);
        assert_eq!(view.failed_attempts, 2);
        assert_eq!(view.last_failed_task.as_deref(), Some("b"));
        assert!(tracker.finished());
        // Pruned history does not forget attempts already seen.
        tracker.update(parse_rows("c\tjob.x\tn1\tComplete\tRunning now\t\n"));
        assert_eq!(tracker.shard(0).failed_attempts, 2);
    }

    #[test]
    fn events_name_the_node_and_the_retry() {
        let mut tracker = Tracker::new(2, 2);
        let waiting = tracker.shard(1);
        assert_eq!(event(None, &waiting, 2), None);
        tracker.update(parse_rows(PS));
        let now = tracker.shard(1);
        let line = event(Some(&waiting), &now, 2).unwrap();
        assert_eq!(
            line,
            "shard 1 failed on vm (task: non-zero exit (3)); the engine retries it (1 of 2)"
        );
        assert_eq!(event(Some(&now), &now, 2), None);
        // The retry is not placed yet: the failure still names the node it failed on.
        let mut unplaced = Tracker::new(2, 2);
        unplaced.update(parse_rows(
            "t1\tjob.1\tvm\tShutdown\tFailed now\t\"boom\"\nt9\tjob.1\t\tComplete\tPending now\t\n",
        ));
        let line = event(Some(&waiting), &unplaced.shard(1), 2).unwrap();
        assert_eq!(line, "shard 1 failed on vm (boom); the engine retries it (1 of 2)");
        assert_eq!(event(None, &tracker.shard(0), 2).unwrap(), "shard 0 done on vm");
        let unschedulable = ShardView {
            index: 3,
            state: ShardState::Waiting,
            node: String::new(),
            failed_attempts: 0,
            last_failed_task: None,
            last_failure: String::new(),
            last_failure_node: String::new(),
            last_error: "no suitable node".into(),
        };
        assert_eq!(event(None, &unschedulable, 2).unwrap(), "shard 3 waiting: no suitable node");
    }
}
