// Sorts a table by the column whose header is clicked (or pressed with Enter); again: reversed.
document.querySelectorAll("table.sortable th").forEach(function (th) {
  th.tabIndex = 0;
  th.title = "Sort by this column";
  function key(row) {
    var cell = row.cells[th.cellIndex];
    var text = cell.dataset.sort !== undefined ? cell.dataset.sort : cell.textContent.trim();
    return /^-?[0-9]+(\.[0-9]+)?$/.test(text) ? parseFloat(text) : text.toLowerCase();
  }
  function sort() {
    var table = th.closest("table");
    var body = table.tBodies[0];
    var up = th.getAttribute("aria-sort") !== "ascending";
    table.querySelectorAll("th").forEach(function (other) { other.removeAttribute("aria-sort"); });
    th.setAttribute("aria-sort", up ? "ascending" : "descending");
    var rows = Array.prototype.slice.call(body.rows);
    rows.sort(function (a, b) {
      var x = key(a), y = key(b);
      var order = typeof x === typeof y ? (x < y ? -1 : x > y ? 1 : 0) : (typeof x === "number" ? -1 : 1);
      return up ? order : -order;
    });
    rows.forEach(function (row) { body.appendChild(row); });
  }
  th.addEventListener("click", sort);
  th.addEventListener("keydown", function (e) {
    if (e.key === "Enter" || e.key === " ") { e.preventDefault(); sort(); }
  });
});
