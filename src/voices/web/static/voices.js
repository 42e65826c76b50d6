// Progressive enhancement only: every page works without JavaScript.
import { initAll } from "/assets/nhsuk-frontend.min.js";

document.body.classList.add("js-enabled", "nhsuk-frontend-supported");
initAll();

// Send the CSRF token with every htmx request (forms already carry it as a field).
document.body.addEventListener("htmx:configRequest", (event) => {
  const field = document.querySelector('input[name="csrf_token"]');
  if (field) {
    event.detail.headers["X-CSRF-Token"] = field.value;
  }
});
