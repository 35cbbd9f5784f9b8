//! Running generations by task id, so `…/{task_id}/stop` can reach one. A stop reaches only a
//! generation of this process: it is a signal to a running request, not stored state.

use std::collections::HashMap;
use std::sync::{Mutex, OnceLock};

use tokio_util::sync::CancellationToken;

struct Task {
    app_id: String,
    end_user_id: String,
    stop: CancellationToken,
}

fn running() -> &'static Mutex<HashMap<String, Task>> {
    static RUNNING: OnceLock<Mutex<HashMap<String, Task>>> = OnceLock::new();
    RUNNING.get_or_init(Default::default)
}

/// A registered generation; dropping it unregisters the task.
pub struct TaskGuard {
    task_id: String,
    pub stop: CancellationToken,
}

impl Drop for TaskGuard {
    fn drop(&mut self) {
        if let Ok(mut tasks) = running().lock() {
            tasks.remove(&self.task_id);
        }
    }
}

/// Registers a generation under `task_id`.
pub fn register(task_id: &str, app_id: &str, end_user_id: &str) -> TaskGuard {
    let stop = CancellationToken::new();
    if let Ok(mut tasks) = running().lock() {
        tasks.insert(
            task_id.to_string(),
            Task {
                app_id: app_id.to_string(),
                end_user_id: end_user_id.to_string(),
                stop: stop.clone(),
            },
        );
    }
    TaskGuard {
        task_id: task_id.to_string(),
        stop,
    }
}

/// Asks the generation `task_id` of this app and end user to stop; true when one was running.
/// Like Dify, asking to stop a task that is not running is not an error for the caller.
pub fn stop(task_id: &str, app_id: &str, end_user_id: &str) -> bool {
    let Ok(tasks) = running().lock() else {
        return false;
    };
    match tasks.get(task_id) {
        Some(task) if task.app_id == app_id && task.end_user_id == end_user_id => {
            task.stop.cancel();
            true
        }
        Some(_) | None => false,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_the_same_app_and_user_can_stop_a_task() {
        let guard = register("task-1", "app", "user");
        assert!(!stop("task-1", "app", "someone else"));
        assert!(!stop("task-1", "other app", "user"));
        assert!(!guard.stop.is_cancelled());
        assert!(stop("task-1", "app", "user"));
        assert!(guard.stop.is_cancelled());
        drop(guard);
        assert!(!stop("task-1", "app", "user"), "finished tasks are forgotten");
    }
}
