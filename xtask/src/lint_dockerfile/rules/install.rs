//! Helpers shared by the package rules (system and language package managers):
//! which commands install, their operands, and the operands left unpinned.

use crate::dockerfile::Instruction;

use super::super::findings::Names;
use super::super::shell::{Command, Script};

/// The non-option arguments after the subcommand.
pub(crate) fn operands<'a>(command: &'a Command, valued: &[&str]) -> Vec<&'a str> {
    operands_at(command, valued).map(|(_, operand)| operand).collect()
}

/// [`operands`] with each one's byte offset in the script. Options in `valued` take
/// a value, which is then not read as an operand.
pub(crate) fn operands_at<'a, 'v>(
    command: &'a Command,
    valued: &'v [&'v str],
) -> impl Iterator<Item = (usize, &'a str)> + 'v
where
    'a: 'v,
{
    let args = command.args();
    let offsets = command.offsets.get(1..).unwrap_or(&[]);
    let start = args.iter().position(|a| !a.starts_with('-')).map_or(args.len(), |i| i + 1);
    let mut skip = false;
    args.iter().enumerate().skip(start).filter_map(move |(i, arg)| {
        if std::mem::take(&mut skip) {
            return None;
        }
        if arg.starts_with('-') {
            skip = valued.contains(&arg.as_str());
            return None;
        }
        Some((offsets.get(i).copied().unwrap_or(command.offset), arg.as_str()))
    })
}

/// Whether `command` runs `program` with one of the subcommands `verbs`.
pub(crate) fn is_install(command: &Command, program: &str, verbs: &[&str]) -> bool {
    command.program() == program && command.subcommand().is_some_and(|s| verbs.contains(&s))
}

/// Whether the RUN mounts a cache at a path containing `target`.
pub(crate) fn has_cache_mount(run: &Instruction, target: &str) -> bool {
    run.flags.iter().any(|f| {
        f.name == "mount"
            && f.value.as_deref().is_some_and(|v| v.contains("type=cache") && v.contains(target))
    })
}

/// The first command of the script that passes `test`.
pub(crate) fn first(script: &Script, test: impl Fn(&Command) -> bool) -> Option<&Command> {
    script.commands.iter().find(|c| test(c))
}

/// The operands of matching commands that `pinned` rejects (variables are left
/// alone), and the script offset of the first of them, for the finding's position.
pub(crate) fn unpinned<'a>(
    commands: impl IntoIterator<Item = &'a Command>,
    valued: &[&str],
    pinned: impl Fn(&str) -> bool,
) -> (Option<usize>, Names<'a>) {
    let mut found = None;
    let mut names = Names::default();
    for command in commands {
        for (offset, operand) in operands_at(command, valued) {
            if !pinned(operand) && !operand.contains('$') {
                found.get_or_insert(offset);
                names.push(operand);
            }
        }
    }
    (found, names)
}
