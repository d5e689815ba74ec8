// Reveal one item outside the gallery's grid (a finding's page, a chat thread): the same POST
// as the gallery's R key, audited on the server, after which that item's unblurred thumbnail
// may load. Nothing unblurred is asked for before the server has granted the reveal.
"use strict";
(function () {
  const token = document.querySelector("#csrf input[name=csrfmiddlewaretoken]");
  if (!token) { return; }
  document.querySelectorAll("button.reveal[data-reveal]").forEach((button) => {
    button.addEventListener("click", async () => {
      const img = document.getElementById(button.dataset.target);
      const said = button.parentElement.querySelector(".reveal-status");
      try {
        const response = await fetch(button.dataset.reveal, {
          method: "POST", credentials: "same-origin",
          headers: { "Content-Type": "application/json", "X-CSRFToken": token.value },
          body: "{}",
        });
        const answer = await response.json();
        if (!response.ok || !answer.revealed) { throw new Error(String(response.status)); }
        img.src = answer.url + "&t=" + Date.now();
        img.classList.add("revealed");
        if (said) { said.textContent = `revealed for ${answer.minutes} minutes (recorded in the audit log)`; }
      } catch (err) {
        if (said) { said.textContent = `not revealed: ${err.message}`; }
      }
    });
  });
})();
