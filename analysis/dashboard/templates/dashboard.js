// Sortable tables for the compliance dashboard. Click a column header to sort
// by it; click again to reverse. Numbers sort as numbers (by the cell's
// data-v value when it has one, else by its text), text sorts as text, and a
// missing cell ("n/r", class "na") always sorts last. The address
// #sort=<table id>:<column key>:<asc|desc>[,...] sorts on load by clicking the
// header, so a link can show a table already sorted.
(function () {
  'use strict';

  function sortKey(cell, numeric) {
    if (cell.classList.contains('na')) {
      return null;
    }
    var raw = cell.hasAttribute('data-v') ? cell.getAttribute('data-v')
      : cell.textContent.trim();
    if (!numeric) {
      return raw.toLowerCase();
    }
    var number = parseFloat(raw.replace(/[^0-9eE+\-.]/g, ''));
    return isNaN(number) ? null : number;
  }

  function compare(a, b, direction) {
    // Missing last in both directions; ties keep the original order.
    if (a.key === null || b.key === null) {
      if (a.key === b.key) { return a.index - b.index; }
      return a.key === null ? 1 : -1;
    }
    if (a.key < b.key) { return -direction; }
    if (a.key > b.key) { return direction; }
    return a.index - b.index;
  }

  function sortTable(table, header, ascending) {
    var column = header.cellIndex;
    var numeric = header.getAttribute('data-sort') === 'num';
    var body = table.tBodies[0];
    var rows = Array.prototype.slice.call(body.rows).map(function (row) {
      return {row: row, index: Number(row.getAttribute('data-i')),
              key: sortKey(row.cells[column], numeric)};
    });
    var direction = ascending ? 1 : -1;
    rows.sort(function (a, b) { return compare(a, b, direction); });
    var fragment = document.createDocumentFragment();
    rows.forEach(function (item) { fragment.appendChild(item.row); });
    body.appendChild(fragment);
    Array.prototype.forEach.call(table.tHead.rows[0].cells, function (cell) {
      cell.removeAttribute('aria-sort');
    });
    header.setAttribute('aria-sort', ascending ? 'ascending' : 'descending');
    table.setAttribute('data-sorted-by',
      header.getAttribute('data-key') + ':' + (ascending ? 'asc' : 'desc'));
  }

  function onHeaderClick(event) {
    var header = event.currentTarget;
    var table = header.closest('table');
    var current = header.getAttribute('aria-sort');
    // First click: largest numbers first, text from A; then alternate.
    var ascending = current ? current === 'descending'
      : header.getAttribute('data-sort') !== 'num';
    sortTable(table, header, ascending);
  }

  function prepare(table) {
    Array.prototype.forEach.call(table.tBodies[0].rows, function (row, i) {
      row.setAttribute('data-i', String(i));
    });
    Array.prototype.forEach.call(table.tHead.rows[0].cells, function (header) {
      if (header.getAttribute('data-sort') === 'none') { return; }
      header.tabIndex = 0;
      header.addEventListener('click', onHeaderClick);
      header.addEventListener('keydown', function (event) {
        if (event.key === 'Enter' || event.key === ' ') {
          event.preventDefault();
          header.click();
        }
      });
    });
  }

  function sortFromAddress() {
    var match = /(?:^#|&)sort=([^&]*)/.exec(window.location.hash);
    if (!match) { return; }
    decodeURIComponent(match[1]).split(',').forEach(function (spec) {
      var parts = spec.split(':');
      var table = document.getElementById(parts[0]);
      if (!table) { throw new Error('sort: no table with id ' + parts[0]); }
      var header = table.querySelector('th[data-key="' + parts[1] + '"]');
      if (!header) {
        throw new Error('sort: table ' + parts[0] + ' has no column ' + parts[1]);
      }
      var wanted = parts[2] === 'asc' ? 'ascending' : 'descending';
      // Real clicks, so the address exercises what a reader's click does.
      for (var i = 0; i < 2 && header.getAttribute('aria-sort') !== wanted; i++) {
        header.click();
      }
    });
  }

  Array.prototype.forEach.call(document.querySelectorAll('table.sortable'), prepare);
  sortFromAddress();
  window.addEventListener('hashchange', sortFromAddress);
  document.documentElement.setAttribute('data-dashboard', 'ready');
}());
