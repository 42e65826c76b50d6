// The coder's queue: one keystroke to accept, number keys to toggle themes, "s" to save
// corrections, "n" for the next comment. Shortcuts can be turned off (WCAG 2.1.4): the
// choice is remembered in this browser. Without JavaScript the buttons do the same.
const form = document.getElementById("review-form");
const toggle = document.getElementById("shortcuts-on");

function shortcutsOn() {
  return toggle ? toggle.checked : false;
}

if (toggle) {
  toggle.checked = window.localStorage.getItem("voices-review-shortcuts") !== "off";
  toggle.addEventListener("change", () => {
    window.localStorage.setItem("voices-review-shortcuts", toggle.checked ? "on" : "off");
  });
}

function typing(target) {
  if (!target) return false;
  const tag = target.tagName;
  return tag === "TEXTAREA" || tag === "SELECT" ||
    (tag === "INPUT" && !["checkbox", "radio", "submit", "button"].includes(target.type));
}

if (form) {
  document.addEventListener("keydown", (event) => {
    if (!shortcutsOn() || event.ctrlKey || event.metaKey || event.altKey || typing(event.target)) {
      return;
    }
    const key = event.key.toLowerCase();
    if (key === "a") {
      event.preventDefault();
      form.querySelector('button[value="accept"]').click();
    } else if (key === "s") {
      event.preventDefault();
      form.querySelector('button[value="save"]').click();
    } else if (key === "n") {
      const next = document.getElementById("next-comment");
      if (next) {
        event.preventDefault();
        next.click();
      }
    } else if (/^[1-9]$/.test(key)) {
      const box = form.querySelector(`input[data-key="${key}"]`);
      if (box) {
        event.preventDefault();
        box.checked = !box.checked;
        box.focus();
      }
    }
  });
}
