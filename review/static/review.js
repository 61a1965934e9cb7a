// The review inbox's only script: the entity editor of each annotation form.
"use strict";
function setupEditor(form) {
  const hidden = form.querySelector('input[name="entities"]');
  const list = form.querySelector(".entity-list");
  if (!hidden || !list) return;
  let entities = [];
  try { entities = JSON.parse(hidden.value) || []; } catch (e) { entities = []; }
  function render() {
    hidden.value = JSON.stringify(entities);
    list.replaceChildren();
    entities.forEach((item, index) => {
      const li = document.createElement("li");
      li.className = "chip entity";
      li.textContent = item.entity + ": " + item.text + " ";
      const remove = document.createElement("button");
      remove.type = "button";
      remove.textContent = "×";
      remove.setAttribute("aria-label", "Remove " + item.entity + " " + item.text);
      remove.addEventListener("click", () => { entities.splice(index, 1); render(); });
      li.appendChild(remove);
      list.appendChild(li);
    });
  }
  form.querySelector(".entity-add").addEventListener("click", () => {
    const name = form.querySelector(".entity-name").value;
    const words = form.querySelector(".entity-text").value.trim();
    if (!name || !words) return;
    entities.push({ entity: name, text: words });  // the server finds the words in the text
    form.querySelector(".entity-text").value = "";
    render();
  });
  const transcript = form.querySelector("textarea[name=text]");
  if (transcript) {
    // offsets change with the words: send the entities' words, the server places them again
    transcript.addEventListener("input", () => {
      entities = entities.map((item) => ({ entity: item.entity, text: item.text }));
      hidden.value = JSON.stringify(entities);
    });
  }
  render();
}
document.querySelectorAll("form.annotate").forEach(setupEditor);
