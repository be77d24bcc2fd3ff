//! Progress of the run's service from `service ps` (pure: the engine's typed
//! task rows in, views and lines out). Every task ever seen is remembered, so attempts are counted
//! even after the engine prunes its task history.
//!
//! Each slot of the service is one task that runs its shards once. The engine
//! restarts a failed task (`--restart-condition on-failure`, at most
//! `--restart-max-attempts` times) and reschedules the task of a node that
//! went down; a task counts as failed once more than `retries` attempts
//! ended without completing, or when it is left on a node that is down.

use std::collections::{BTreeMap, BTreeSet};

use crate::engine::types::WireTask;

/// One task as `service ps` shows it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct TaskRow {
    pub id: String,
    /// The service slot, from 1.
    pub slot: u32,
    pub node: String,
    /// The first word of the current state, lower-case: `running`, `complete`, `failed`...
    pub state: String,
    pub error: String,
}

/// The slot from a task name `SERVICE.SLOT` (0 when it is not a number).
pub fn slot_of(task_name: &str) -> u32 {
    task_name.rsplit('.').next().and_then(|s| s.parse().ok()).unwrap_or(0)
}

/// The rows of `service ps --no-trunc` (tasks without an id are skipped).
pub fn task_rows(tasks: Vec<WireTask>) -> Vec<TaskRow> {
    tasks
        .into_iter()
        .map(|task| TaskRow {
            id: task.id.trim().to_string(),
            slot: slot_of(task.task_name()),
            node: task.node.trim().to_string(),
            state: task.current_state.split_whitespace().next().unwrap_or("").to_ascii_lowercase(),
            error: task.error_message().to_string(),
        })
        .filter(|row| !row.id.is_empty())
        .collect()
}

/// Where a task is.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ShardState {
    Waiting,
    Running,
    Done,
    Failed,
}

/// One task's state, attempts and the node of its latest attempt.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ShardView {
    /// From 0: slot `index + 1` of the service.
    pub index: u32,
    /// `shard 2`, or `task 2 (shards 2, 6)` when tasks run several shards.
    pub label: String,
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
const ENDED: [&str; 5] = ["complete", "failed", "rejected", "shutdown", "orphaned"];

/// Every task seen so far, by id.
#[derive(Clone, Debug, Default)]
pub struct Tracker {
    /// Slots of the service (tasks), and the shards they share.
    pub tasks: u32,
    pub shards: u32,
    pub retries: u32,
    /// Nodes that have been down long enough for the engine to have moved their tasks.
    pub down_nodes: BTreeSet<String>,
    /// Task id → (order first seen, latest row).
    rows: BTreeMap<String, (usize, TaskRow)>,
}

impl Tracker {
    pub fn new(tasks: u32, shards: u32, retries: u32) -> Tracker {
        Tracker { tasks, shards, retries, down_nodes: BTreeSet::new(), rows: BTreeMap::new() }
    }

    /// Records the rows of one poll.
    pub fn update(&mut self, rows: Vec<TaskRow>) {
        for row in rows {
            let order = self.rows.get(&row.id).map(|(order, _)| *order).unwrap_or(self.rows.len());
            self.rows.insert(row.id.clone(), (order, row));
        }
    }

    /// `shard i`, or `task i (shards ...)` when there are fewer tasks than shards.
    pub fn label(&self, index: u32) -> String {
        if self.tasks >= self.shards {
            return format!("shard {index}");
        }
        let shards: Vec<String> = (index..self.shards)
            .step_by(self.tasks.max(1) as usize)
            .map(|s| s.to_string())
            .collect();
        format!("task {index} (shards {})", shards.join(", "))
    }

    /// The view of task `index` (slot `index + 1`).
    pub fn shard(&self, index: u32) -> ShardView {
        let mut tasks: Vec<&(usize, TaskRow)> =
            self.rows.values().filter(|(_, row)| row.slot == index + 1).collect();
        tasks.sort_by_key(|(order, _)| *order);
        let latest = tasks.last().map(|(_, row)| row);
        // An attempt failed when it failed, or when a later one replaced it
        // before it completed (its node went down).
        let failed: Vec<&TaskRow> = tasks
            .iter()
            .enumerate()
            .map(|(position, (_, row))| (position + 1 == tasks.len(), row))
            .filter(|(last, row)| {
                FAILED.contains(&row.state.as_str()) || (!last && row.state != "complete")
            })
            .map(|(_, row)| row)
            .collect();
        let mut failures: Vec<(String, String, Option<String>)> = failed
            .iter()
            .map(|r| {
                let why = if FAILED.contains(&r.state.as_str()) {
                    r.error.clone()
                } else {
                    format!("node {} went down", r.node)
                };
                (why, r.node.clone(), Some(r.id.clone()))
            })
            .collect();
        let done = tasks.iter().find(|(_, r)| r.state == "complete").map(|(_, r)| r);
        let lost = latest
            .filter(|r| !ENDED.contains(&r.state.as_str()) && self.down_nodes.contains(&r.node));
        if let Some(lost) = lost {
            failures.push((format!("node {} is down", lost.node), lost.node.clone(), None));
        }
        let state = if done.is_some() {
            ShardState::Done
        } else if failed.len() > self.retries as usize || lost.is_some() {
            ShardState::Failed
        } else if tasks.iter().any(|(_, r)| RUNNING.contains(&r.state.as_str())) {
            ShardState::Running
        } else {
            ShardState::Waiting
        };
        let (last_failure, last_failure_node, _) = failures.last().cloned().unwrap_or_default();
        ShardView {
            index,
            label: self.label(index),
            state,
            node: done.or(latest).map(|r| r.node.clone()).unwrap_or_default(),
            failed_attempts: failures.len(),
            last_failed_task: failed.last().map(|r| r.id.clone()),
            last_failure,
            last_failure_node,
            last_error: latest.map(|r| r.error.clone()).unwrap_or_default(),
        }
    }

    pub fn views(&self) -> Vec<ShardView> {
        (0..self.tasks).map(|index| self.shard(index)).collect()
    }

    /// Every task is done or has failed for good.
    pub fn finished(&self) -> bool {
        self.views().iter().all(|v| matches!(v.state, ShardState::Done | ShardState::Failed))
    }

    /// `shards: 1/4 done, 2 running, 0 failed, 1 waiting` (`tasks:` when they run several shards).
    pub fn counts_line(&self) -> String {
        let views = self.views();
        let count = |state| views.iter().filter(|v| v.state == state).count();
        format!(
            "{}: {}/{} done, {} running, {} failed, {} waiting",
            if self.tasks >= self.shards { "shards" } else { "tasks" },
            count(ShardState::Done),
            self.tasks,
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

/// What changed between two views of a task, as a line, if anything did.
pub fn event(before: Option<&ShardView>, now: &ShardView, retries: u32) -> Option<String> {
    let label = &now.label;
    let node = on_node(&now.node);
    let failed_on = on_node(&now.last_failure_node);
    if let Some(before) = before {
        if now.failed_attempts > before.failed_attempts && now.state != ShardState::Failed {
            return Some(format!(
                "{label} failed{failed_on} ({}); the engine retries it ({} of {retries})",
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
        ShardState::Done => Some(format!("{label} done{node}")),
        ShardState::Running => Some(format!("{label} running{node}")),
        ShardState::Failed => Some(format!(
            "{label} failed{failed_on} ({}) after {} attempt(s)",
            now.last_failure, now.failed_attempts
        )),
        ShardState::Waiting if !now.last_error.is_empty() => {
            Some(format!("{label} waiting: {}", now.last_error))
        }
        ShardState::Waiting => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A task as (id, name, node, current state, error).
    type Task<'a> = (&'a str, &'a str, &'a str, &'a str, &'a str);

    const PS: [Task; 3] = [
        ("t1", "job.2", "vm", "Failed 3 seconds ago", "task: non-zero exit (3)"),
        ("t2", "job.2", "vm", "Running 1 second ago", ""),
        ("t3", "job.1", "vm", "Complete 2 seconds ago", ""),
    ];

    /// `tasks` as `service ps --no-trunc --format '{{json .}}'` prints them (the
    /// error quoted as the client quotes it; `Image` and `Ports` left out), read
    /// back as the tracker's rows.
    fn parse_rows(tasks: &[Task]) -> Vec<TaskRow> {
        let text: String = tasks
            .iter()
            .map(|(id, name, node, current, error)| {
                let error = if error.is_empty() { String::new() } else { format!("\"{error}\"") };
                let line = serde_json::json!({
                    "ID": id, "Name": name, "Node": node, "CurrentState": current, "Error": error
                });
                format!("{line}\n")
            })
            .collect();
        task_rows(crate::engine::types::json_lines("docker service ps", &text).unwrap())
    }

    #[test]
    fn rows_are_parsed_with_their_slots() {
        let rows = parse_rows(&PS);
        assert_eq!(rows.len(), 3);
        assert_eq!(rows[0].slot, 2);
        assert_eq!(rows[0].state, "failed");
        assert_eq!(rows[0].error, "task: non-zero exit (3)");
        assert_eq!(rows[2].slot, 1);
        assert_eq!(rows[2].state, "complete");
        assert_eq!(slot_of("scylla-swarm-1-ab.12"), 12);
        assert_eq!(slot_of("odd"), 0);
    }

    #[test]
    fn a_retried_shard_runs_then_finishes() {
        let mut tracker = Tracker::new(2, 2, 1);
        tracker.update(parse_rows(&PS));
        assert_eq!(tracker.shard(0).state, ShardState::Done);
        let one = tracker.shard(1);
        assert_eq!((one.state, one.failed_attempts), (ShardState::Running, 1));
        assert_eq!(one.last_failed_task.as_deref(), Some("t1"));
        assert!(!tracker.finished());
        assert_eq!(tracker.counts_line(), "shards: 1/2 done, 1 running, 0 failed, 0 waiting");
        tracker.update(parse_rows(&[("t2", "job.2", "vm", "Complete now", "")]));
        assert!(tracker.finished());
        assert_eq!(tracker.shard(1).node, "vm");
    }

    #[test]
    fn a_shard_fails_for_good_after_its_retries() {
        let mut tracker = Tracker::new(1, 1, 1);
        let rows = [
            ("a", "job.1", "n1", "Failed 9 s ago", "task: non-zero exit (1)"),
            ("b", "job.1", "n2", "Failed 5 s ago", "task: non-zero exit (1)"),
        ];
        tracker.update(parse_rows(&rows));
        let view = tracker.shard(0);
        assert_eq!(view.state, ShardState::Failed);
        assert_eq!(view.failed_attempts, 2);
        assert_eq!(view.last_failed_task.as_deref(), Some("b"));
        assert!(tracker.finished());
        // Pruned history does not forget attempts already seen.
        tracker.update(Vec::new());
        assert_eq!(tracker.shard(0).failed_attempts, 2);
    }

    #[test]
    fn a_task_of_a_node_that_went_down_is_an_attempt_or_a_failure_naming_the_node() {
        let mut tracker = Tracker::new(2, 2, 1);
        tracker.update(parse_rows(&[("a", "job.1", "n3", "Running 9 s ago", "")]));
        tracker.down_nodes.insert("n3".into());
        let lost = tracker.shard(0);
        assert_eq!(lost.state, ShardState::Failed);
        assert_eq!(
            (lost.last_failure.as_str(), lost.last_failure_node.as_str()),
            ("node n3 is down", "n3")
        );
        // The engine moved it: the old attempt counts, the new one runs.
        tracker.update(parse_rows(&[("b", "job.1", "n1", "Running now", "")]));
        let moved = tracker.shard(0);
        assert_eq!((moved.state, moved.failed_attempts), (ShardState::Running, 1));
        assert_eq!(moved.last_failure, "node n3 went down");
        let line = event(Some(&ShardView { failed_attempts: 0, ..moved.clone() }), &moved, 1);
        assert_eq!(
            line.unwrap(),
            "shard 0 failed on n3 (node n3 went down); the engine retries it (1 of 1)"
        );
    }

    #[test]
    fn fewer_tasks_than_shards_are_labelled_with_their_shards() {
        let tracker = Tracker::new(2, 5, 1);
        assert_eq!(tracker.label(0), "task 0 (shards 0, 2, 4)");
        assert_eq!(tracker.label(1), "task 1 (shards 1, 3)");
        assert_eq!(tracker.counts_line(), "tasks: 0/2 done, 0 running, 0 failed, 2 waiting");
    }

    #[test]
    fn events_name_the_node_and_the_retry() {
        let mut tracker = Tracker::new(2, 2, 2);
        let waiting = tracker.shard(1);
        assert_eq!(event(None, &waiting, 2), None);
        tracker.update(parse_rows(&PS));
        let now = tracker.shard(1);
        let line = event(Some(&waiting), &now, 2).unwrap();
        assert_eq!(
            line,
            "shard 1 failed on vm (task: non-zero exit (3)); the engine retries it (1 of 2)"
        );
        assert_eq!(event(Some(&now), &now, 2), None);
        // The retry is not placed yet: the failure still names the node it failed on.
        let mut unplaced = Tracker::new(2, 2, 2);
        unplaced.update(parse_rows(&[
            ("t1", "job.2", "vm", "Failed now", "boom"),
            ("t9", "job.2", "", "Pending now", ""),
        ]));
        let line = event(Some(&waiting), &unplaced.shard(1), 2).unwrap();
        assert_eq!(line, "shard 1 failed on vm (boom); the engine retries it (1 of 2)");
        assert_eq!(event(None, &tracker.shard(0), 2).unwrap(), "shard 0 done on vm");
        let unschedulable = ShardView {
            index: 3,
            label: "shard 3".into(),
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
