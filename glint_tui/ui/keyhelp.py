"""What each key does, in a sentence, and the group the help screen lists it under.

Keyed by binding id, so an operator's keymap changes the key shown, never the sentence.
A binding without an entry here is listed under "More" with its footer word (a test
checks that every binding of glint's UI has one).
"""

from __future__ import annotations

MARK = "Mark and run"
TRANSFERS = "While a run goes"
VIEW = "What is shown"
MOVE = "Move"
GLINT = "Glint"
HERE = "On this screen"
MORE = "More"
GROUP_ORDER = (MARK, TRANSFERS, VIEW, MOVE, HERE, GLINT, MORE)

HELP: dict[str, tuple[str, str]] = {
    # the matrix
    "matrix.toggle": (MARK, "Mark the cell: copy the image here, or delete it here."),
    "matrix.range": (MARK, "Start a block selection; space then marks the whole block."),
    "matrix.unselect": (MARK, "End the block selection without marking anything."),
    "matrix.apply": (MARK, "Review the plan of the marked cells; nothing runs unless you say so."),
    "matrix.retry": (MARK, "Try the failed cell again (every failed cell, when this one is fine)."),
    "matrix.clear": (MARK, "Forget a failed cell's error and its mark."),
    "matrix.upload": (MARK, "Upload a new image from a file to the columns you choose."),
    "matrix.catalog": (MARK, "With --catalog FILE: plan the catalog afresh, review it, run it."),
    "matrix.cancel": (TRANSFERS, "Cancel the copy into the cell under the cursor; others go on."),
    "matrix.cancel_run": (TRANSFERS, "Cancel the whole run; half-made images are removed."),
    "matrix.transfers": (TRANSFERS, "Show or hide the transfers; a run that went well hides them."),
    "matrix.filter": (VIEW, "Show only images whose name or hash contains some text."),
    "matrix.visibility": (VIEW, "Show all images, or only the project's, shared or public ones."),
    "matrix.project": (VIEW, "Show one project's column only, or every column."),
    "matrix.sort": (VIEW, "Sort the images by name, by size or by age."),
    "matrix.refresh": (VIEW, "List every column's images again; your marks are kept."),
    "matrix.wider": (VIEW, "Widen the image name column."),
    "matrix.narrower": (VIEW, "Narrow the image name column."),
    "matrix.up": (MOVE, "Up one image."),
    "matrix.down": (MOVE, "Down one image."),
    "matrix.left": (MOVE, "Left one column."),
    "matrix.right": (MOVE, "Right one column."),
    "matrix.page_up": (MOVE, "Up one screen."),
    "matrix.page_down": (MOVE, "Down one screen."),
    "matrix.first": (MOVE, "The first image."),
    "matrix.last": (MOVE, "The last image."),
    "matrix.repositories": (GLINT, "Repositories and credentials: add, edit, test, import."),
    # the app, on every screen
    "app.help": (GLINT, "This help: every key of the screen, and what each cell mark means."),
    "app.quit": (GLINT, "Quit; asks first while transfers run or marks would be lost."),
    "app.quit_now": (GLINT, "Quit, the same way as q."),
    "app.interrupt": (GLINT, "Like q; a second ctrl+c quits once the run is cleaned up."),
    "app.theme": (GLINT, "Choose a colour theme; glint remembers it."),
    # the repositories screen
    "repos.add": (HERE, "Add a repository (glint checks that its Keystone answers)."),
    "repos.edit": (HERE, "Edit the repository of the row."),
    "repos.delete": (HERE, "Remove the row's credential, or the repository (images stay)."),
    "repos.test": (HERE, "Log in with the row's credential and count the images it sees."),
    "repos.credential": (HERE, "Add or replace the credential of the row's project."),
    "repos.import": (HERE, "Import repositories and credentials from clouds.yaml."),
    "repos.back": (HERE, "Back to the matrix."),
    # dialogs
    "help.close": (HERE, "Close the help."),
    "plan.confirm": (HERE, "Run the plan."),
    "plan.cancel": (HERE, "Close the review; nothing runs."),
    "confirm.yes": (HERE, "Yes."),
    "confirm.no": (HERE, "No."),
    "typed.cancel": (HERE, "Close; nothing happens."),
    "repoform.save": (HERE, "Save the repository."),
    "repoform.cancel": (HERE, "Close the form; nothing is saved."),
    "credform.save": (HERE, "Save the credential."),
    "credform.cancel": (HERE, "Close the form; nothing is saved."),
    "master.cancel": (HERE, "Close; the keyring stays locked."),
    "project.cancel": (HERE, "Close; the columns stay as they are."),
    "filter.cancel": (HERE, "Close; the filter stays as it was."),
    "import.cancel": (HERE, "Close; nothing is imported."),
    "upload.plan": (HERE, "Read the file, then review the upload; nothing is sent before."),
    "upload.cancel": (HERE, "Close; nothing is uploaded."),
    "welcome.add": (HERE, "Add a repository."),
    "welcome.import": (HERE, "Import repositories from clouds.yaml."),
}


_ORDER = {binding_id: n for n, binding_id in enumerate(HELP)}


def explain(binding_id: str, description: str) -> tuple[str, str]:
    """(group, sentence) for a binding id (its footer word when it has no entry)."""
    return HELP.get(binding_id, (MORE, description))


def order(binding_id: str) -> int:
    """Where a key is listed (help, footer): glint's order, whatever keys the operator
    gave it (Textual moves a re-keyed binding to the end of its list)."""
    return _ORDER.get(binding_id, len(_ORDER))
