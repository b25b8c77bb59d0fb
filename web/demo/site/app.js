// Tallyframe's own handoff to a person, wired as a product team wires its helpdesk: the widget's
// "escalate" event carries the question (scrubbed), the visit's transcript and the page context.
// A real app would open its support chat or a ticket with them; the demo says what would happen.
window.Loopwise = window.Loopwise || { q: [] };
window.Loopwise.q.push(["on", "escalate", function (handoff) {
  let note = document.getElementById("handoff");
  if (!note) {
    note = document.createElement("div");
    note.id = "handoff";
    note.setAttribute("role", "status");
    document.body.append(note);
  }
  note.textContent = "Tallyframe support has your question" +
    (handoff.query ? ` ("${handoff.query}")` : "") +
    " and what the help panel showed you, and will answer by e-mail within a working day." +
    " (A demo: nothing is sent.)";
  note.hidden = false;
  clearTimeout(note.timer);
  note.timer = setTimeout(() => { note.hidden = true; }, 12000);
}]);
